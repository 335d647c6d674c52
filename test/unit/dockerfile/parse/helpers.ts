import assert from "node:assert/strict";
import type { Instruction, Keyword } from "../../../../src/dockerfile/ast.ts";
import { DockerfileError } from "../../../../src/dockerfile/errors.ts";
import { parseDockerfile } from "../../../../src/dockerfile/parse/index.ts";

/** Parses and returns the instructions. */
export function parse(text: string): Instruction[] {
  return parseDockerfile(text).instructions;
}

/** Parses `FROM scratch` + `line` and returns the instruction of `line`, checking its keyword. */
export function one<K extends Keyword>(line: string, keyword: K): Extract<Instruction, { keyword: K }> {
  const insts = parse(`FROM scratch\n${line}\n`);
  const i = insts[1];
  assert.ok(i, `no instruction parsed from ${JSON.stringify(line)}`);
  assert.equal(i.keyword, keyword);
  return i as Extract<Instruction, { keyword: K }>;
}

/** Asserts that parsing fails with a DockerfileError whose message matches and located at line:column. */
export function parseError(text: string, message: RegExp, line?: number, column?: number): DockerfileError {
  let caught: unknown;
  try {
    parseDockerfile(text);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof DockerfileError, `expected a DockerfileError, got ${String(caught)}`);
  assert.match(caught.message, message);
  assert.ok(caught.location, "error has a location");
  if (line !== undefined) assert.equal(caught.location.line, line, "error line");
  if (column !== undefined) assert.equal(caught.location.column, column, "error column");
  return caught;
}
