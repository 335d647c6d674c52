/**
 * The Dockerfile parser: text in, typed syntax tree out (see ../ast.ts). It reads the file the way
 * BuildKit's frontend does — directives at the top, comments, continuation lines with the active escape
 * character, heredocs, exec vs shell form, flags — and records where every piece was written.
 */

import type { Comment, DockerfileAst, Heredoc, Instruction, ParseOptions, ParseWarning } from "../ast.ts";
import { DockerfileError, type DockerfileSource } from "../errors.ts";
import { trimGoSpace, trimGoSpaceLeft } from "../shell/chars.ts";
import { DirectiveReader } from "./directives.ts";
import { findHeredocs } from "./heredoc.ts";
import { buildInstruction } from "./instruction.ts";
import { LogicalLine } from "./logical-line.ts";
import { splitLines } from "./source-lines.ts";
import { syntaxChannel } from "./syntax-directive.ts";

export { isTrueFlag } from "./flags.ts";
export { heredocBody, parseHeredocWord } from "./heredoc.ts";
export { KEYWORDS } from "./instruction.ts";
export { syntaxOverride } from "./syntax-directive.ts";

/**
 * Parses Dockerfile text into its syntax tree. Throws a DockerfileError (a UserError with file, line,
 * column and the source line) for anything BuildKit rejects when it parses; never anything else.
 */
export function parseDockerfile(text: string, options: ParseOptions = {}): DockerfileAst {
  const physical = splitLines(text);
  const lines = physical.map((l) => l.text);
  const source: DockerfileSource = { file: options.file ?? "Dockerfile", lines };
  checkLineLengths(source);
  const directives = new DirectiveReader(source);
  const instructions: Instruction[] = [];
  const warnings: ParseWarning[] = [];
  let comments: Comment[] = [];
  let labs: boolean | undefined;

  for (let i = 0; i < physical.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    const trimmed = trimGoSpaceLeft(raw);
    const indent = raw.length - trimmed.length;
    if (directives.feed(trimmed, lineNo, indent)) continue;
    if (trimmed.startsWith("#")) {
      // BuildKit strips the `#` only from a comment that starts the line: an indented one keeps it, which
      // decides whether it describes the stage below (`--call targets`).
      const c = trimGoSpace(indent > 0 ? trimmed : trimmed.slice(1));
      if (c === "") comments = [];
      else comments.push({ text: c, line: lineNo });
      continue;
    }
    const esc = directives.escapeChar;
    let cut = continuation(trimmed, esc);
    if (cut === undefined && trimmed === "") continue;

    const logical = new LogicalLine();
    logical.append(cut ?? trimmed, lineNo, indent + 1);
    const startLine = lineNo;
    while (cut !== undefined && i + 1 < physical.length) {
      i++;
      const next = lines[i]!;
      const nextTrimmed = trimGoSpaceLeft(next);
      if (nextTrimmed.startsWith("#")) continue;
      if (nextTrimmed === "") {
        // one warning per instruction, as BuildKit reports it
        if ((warnings.at(-1)?.pos.line ?? 0) >= startLine) continue;
        warnings.push({
          code: "empty-continuation-line",
          message: "Empty continuation line found: remove it or the line continuation before it",
          pos: { line: i + 1, column: 1 },
        });
        continue;
      }
      cut = continuation(next, esc);
      logical.append(cut ?? next, i + 1, 1);
    }

    if (labs === undefined) {
      directives.done = true;
      labs = syntaxChannel(
        directives.directives.find((d) => d.name === "syntax"),
        source,
        options.syntax,
      ).labs;
    }
    const where = {
      startLine,
      endLine: i + 1,
      original: lines.slice(startLine - 1, i + 1).join("\n"),
      comments,
    };
    const inst = buildInstruction(logical, 0, { source, escapeChar: esc, labs }, where);
    comments = [];

    const target = inst.keyword === "ONBUILD" ? inst.trigger : inst;
    if (target && mayHaveHeredocs(target) && logical.text.includes("<<")) {
      const heredocs: Heredoc[] = [];
      for (const spec of findHeredocs(logical.text)) {
        const pos = logical.posAt(spec.start);
        const bodyStart = i + 2;
        let content = "";
        let terminated = false;
        while (i + 1 < physical.length) {
          i++;
          let candidate = lines[i]!;
          if (spec.chomp) candidate = candidate.replace(/^\t+/, "");
          if (candidate === spec.name) {
            terminated = true;
            break;
          }
          content += physical[i]!.raw;
        }
        if (!terminated) {
          throw new DockerfileError("unterminated heredoc", source, pos, {
            hint: `end the here-document with a line holding only ${spec.name}`,
          });
        }
        heredocs.push({
          name: spec.name,
          content,
          expand: spec.expand,
          chomp: spec.chomp,
          fileDescriptor: spec.fileDescriptor,
          pos,
          bodyStartLine: bodyStart,
          endLine: i + 1,
        });
      }
      if (heredocs.length > 0) {
        const end = { line: i + 1, column: lines[i]!.length + 1 };
        const original = lines.slice(startLine - 1, i + 1).join("\n");
        for (const node of inst === target ? [inst] : [inst, target]) {
          node.heredocs = heredocs;
          node.range = { start: node.range.start, end };
          node.original = original;
        }
        if (inst.keyword === "ONBUILD") {
          for (const h of heredocs) inst.expression += `\n${h.content}${h.name}`;
        }
      }
    }
    instructions.push(inst);
  }

  if (instructions.length === 0) {
    throw new DockerfileError(
      "file with no instructions",
      source,
      { line: Math.max(1, lines.length), column: 1 },
      {
        hint: "a Dockerfile needs at least a FROM instruction",
      },
    );
  }

  const value = (name: string) => directives.directives.find((d) => d.name === name)?.value;
  return {
    file: source.file,
    lines,
    directives: directives.directives,
    escapeChar: directives.escapeChar,
    syntax: value("syntax"),
    check: value("check"),
    instructions,
    warnings,
  };
}

// BuildKit reads the file with a line scanner that holds at most 65535 bytes: a longer line (heredoc bodies
// and comments too) fails the build, so it fails here, with BuildKit's words, rather than building.
const maxLineBytes = 65535;

function checkLineLengths(source: DockerfileSource): void {
  source.lines.forEach((line, i) => {
    if (line.length * 3 <= maxLineBytes || Buffer.byteLength(line) <= maxLineBytes) return;
    const shown = source.lines.map((l, j) => (j === i ? `${l.slice(0, 60)}…` : l));
    throw new DockerfileError(
      `dockerfile line greater than max allowed size of ${maxLineBytes}`,
      { file: source.file, lines: shown },
      { line: i + 1, column: 1 },
      {
        hint: `line ${i + 1} holds ${Buffer.byteLength(line)} bytes: split it with line continuations, or COPY long data from a file in the context`,
      },
    );
  });
}

// The line without its continuation mark (the escape character, then only blanks, at the end of the line,
// not itself escaped), or undefined when the line does not continue.
function continuation(line: string, esc: string): string | undefined {
  let j = line.length;
  while (j > 0 && (line.charCodeAt(j - 1) === 0x20 || line.charCodeAt(j - 1) === 0x09)) j--;
  if (j === 0 || line[j - 1] !== esc) return undefined;
  if (j >= 2 && line[j - 2] === esc) return undefined;
  return line.slice(0, j - 1);
}

function mayHaveHeredocs(inst: Instruction): boolean {
  switch (inst.keyword) {
    case "RUN":
      return inst.command.form === "shell";
    case "COPY":
    case "ADD":
      return !inst.jsonForm;
    default:
      return false;
  }
}
