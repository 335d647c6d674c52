import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDockerfile } from "../../../../src/dockerfile/parse/index.ts";
import { one, parse, parseError } from "./helpers.ts";

describe("lines, comments and continuations", () => {
  it("reads keywords case-insensitively and keeps how they were written", () => {
    const [from, run] = parse("from alpine\nRuN echo hi\n");
    assert.equal(from?.keyword, "FROM");
    assert.equal(from?.keywordAsWritten, "from");
    assert.equal(run?.keyword, "RUN");
    assert.equal(run?.keywordAsWritten, "RuN");
  });

  it("skips blank lines and comments, and leading blanks before instructions", () => {
    const insts = parse("\n  # comment\n\n   FROM a\n\t\tRUN b\n");
    assert.deepEqual(
      insts.map((i) => [i.keyword, i.pos.line, i.pos.column]),
      [
        ["FROM", 4, 4],
        ["RUN", 5, 3],
      ],
    );
  });

  it("joins continuation lines and keeps positions of each piece", () => {
    const run = one("RUN --mount=type=cache,target=/a \\\n    --network=none \\\n    make all", "RUN");
    assert.equal(run.line, "RUN --mount=type=cache,target=/a     --network=none     make all");
    assert.deepEqual(run.network?.pos, { line: 3, column: 5 });
    assert.deepEqual(run.command, { form: "shell", text: "make all", pos: { line: 4, column: 5 } });
    assert.deepEqual(run.range, { start: { line: 2, column: 1 }, end: { line: 4, column: 13 } });
    assert.equal(run.original, "RUN --mount=type=cache,target=/a \\\n    --network=none \\\n    make all");
  });

  it("accepts blanks after the continuation character", () => {
    assert.equal(one("RUN a \\  \t\nb", "RUN").line, "RUN a b");
  });

  it("drops comment lines inside a continuation and does not collect them", () => {
    const insts = parse("FROM a\nRUN echo a \\\n  # inner comment\n  && echo b\n");
    assert.equal(insts[1]?.line, "RUN echo a   && echo b");
    assert.deepEqual(insts[1]?.comments, []);
  });

  it("skips empty lines inside a continuation and warns once per instruction", () => {
    const ast = parseDockerfile("FROM a\nRUN echo a \\\n\n   \n  && echo b\nRUN c \\\n\nd\n");
    assert.equal(ast.instructions[1]?.line, "RUN echo a   && echo b");
    assert.deepEqual(
      ast.warnings.map((w) => [w.code, w.pos.line]),
      [
        ["empty-continuation-line", 3],
        ["empty-continuation-line", 7],
      ],
    );
  });

  it("does not continue a line ending with an escaped escape character", () => {
    const insts = parse("FROM a\nRUN echo a\\\\\nRUN echo b\n");
    assert.equal(insts.length, 3);
    assert.equal(insts[1]?.line, "RUN echo a\\\\");
  });

  it("continues with a backtick under `# escape=`` and treats backslashes as text", () => {
    const ast = parseDockerfile(
      "# escape=`\nFROM nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\ `\n  /w\n",
    );
    assert.deepEqual(
      ast.instructions.map((i) => i.line),
      ["FROM nanoserver", "COPY testfile.txt c:\\", "RUN dir c:\\   /w"],
    );
  });

  it("lets a continuation run to the end of the file", () => {
    assert.equal(parse("FROM a\nRUN b \\\n")[1]?.line, "RUN b ");
  });

  it("handles CRLF line endings", () => {
    const insts = parse("FROM a\r\nRUN b \\\r\n  c\r\nENV K=v\r\n");
    assert.deepEqual(
      insts.map((i) => i.line),
      ["FROM a", "RUN b   c", "ENV K=v"],
    );
    const ast = parseDockerfile("FROM a\r\nRUN x\r\n");
    assert.deepEqual(ast.lines, ["FROM a", "RUN x"]);
  });

  it("strips a UTF-8 byte-order mark", () => {
    const [from] = parse("\uFEFFFROM a\n");
    assert.equal(from?.keyword, "FROM");
    assert.deepEqual(from?.pos, { line: 1, column: 1 });
  });

  it("collects the comments above an instruction as BuildKit does", () => {
    const insts = parse(
      "# first\n\n# second\nARG A\n# about B\nARG B\n# dropped\n#\n# kept\nFROM x\nRUN y\n",
    );
    assert.deepEqual(
      insts[0]?.comments.map((c) => c.text),
      ["first", "second"],
    );
    assert.deepEqual(insts[1]?.comments, [{ text: "about B", line: 5 }]);
    assert.deepEqual(
      insts[2]?.comments.map((c) => c.text),
      ["kept"],
    );
    assert.deepEqual(insts[3]?.comments, []);
  });

  it("fails on a file without instructions", () => {
    parseError("", /file with no instructions/);
    parseError("# only a comment\n\n", /file with no instructions/);
  });
});
