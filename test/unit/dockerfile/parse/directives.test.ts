import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDockerfile } from "../../../../src/dockerfile/parse/index.ts";
import { parseError } from "./helpers.ts";

describe("parser directives", () => {
  it("reads syntax, escape and check at the top, case-insensitively", () => {
    const ast = parseDockerfile("# syntax=docker/dockerfile:1\n# ESCAPE=`\n# Check=skip=all\nFROM a\n");
    assert.equal(ast.syntax, "docker/dockerfile:1");
    assert.equal(ast.escapeChar, "`");
    assert.equal(ast.check, "skip=all");
    assert.deepEqual(
      ast.directives.map((d) => [d.name, d.nameAsWritten, d.value, d.pos.line, d.valuePos.column]),
      [
        ["syntax", "syntax", "docker/dockerfile:1", 1, 10],
        ["escape", "ESCAPE", "`", 2, 10],
        ["check", "Check", "skip=all", 3, 9],
      ],
    );
  });

  it("allows blanks around the name, the = and the value", () => {
    for (const line of ["#directive=value", "# escape = `", "#\tescape=\t`", "#escape=`   "]) {
      const ast = parseDockerfile(`${line.replace("directive=value", "escape=`")}\nFROM a\n`);
      assert.equal(ast.escapeChar, "`", line);
    }
  });

  it("stops at the first comment, blank line or instruction", () => {
    assert.equal(parseDockerfile("# a comment\n# escape=`\nFROM a\n").escapeChar, "\\");
    assert.equal(parseDockerfile("\n# escape=`\nFROM a\n").escapeChar, "\\");
    assert.equal(parseDockerfile("FROM a\n# escape=`\nRUN x\n").escapeChar, "\\");
  });

  it("treats an unknown directive as a comment that ends the directives", () => {
    const ast = parseDockerfile("# unknowndirective=value\n# escape=`\nFROM a\n");
    assert.equal(ast.escapeChar, "\\");
    assert.deepEqual(ast.directives, []);
  });

  it("rejects a repeated directive, pointing at the second one", () => {
    parseError("# escape=`\n# escape=\\\nFROM a\n", /only one escape parser directive can be used/, 2, 1);
    parseError("# syntax=a\n# SYNTAX=b\nFROM a\n", /only one syntax parser directive/, 2);
  });

  it("rejects an escape character other than \\ or `", () => {
    parseError("# escape=x\nFROM a\n", /invalid escape token 'x' does not match ` or \\/, 1, 10);
  });

  it("does not treat directive lines as comments of the first instruction", () => {
    const ast = parseDockerfile("# syntax=docker/dockerfile:1\n# the base\nFROM a\n");
    assert.deepEqual(ast.instructions[0]?.comments, [{ text: "the base", line: 2 }]);
  });

  it("finds directives after a UTF-8 byte-order mark", () => {
    assert.equal(
      parseDockerfile("\uFEFF# syntax=docker/dockerfile:1\nFROM a\n").syntax,
      "docker/dockerfile:1",
    );
  });

  it("keeps a directive-looking line later in the file as a comment", () => {
    const ast = parseDockerfile("FROM a\n# syntax=x\nRUN b\n");
    assert.equal(ast.syntax, undefined);
    assert.deepEqual(ast.instructions[1]?.comments, [{ text: "syntax=x", line: 2 }]);
  });
});
