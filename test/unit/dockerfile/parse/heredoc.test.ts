import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseHeredocWord } from "../../../../src/dockerfile/parse/heredoc.ts";
import { heredocBody, parseDockerfile } from "../../../../src/dockerfile/parse/index.ts";
import { parse, parseError } from "./helpers.ts";

describe("heredocs", () => {
  it("reads a RUN heredoc body and continues after its terminator", () => {
    const insts = parse("FROM a\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\nCMD x\n");
    const run = insts[1]!;
    assert.equal(run.heredocs.length, 1);
    assert.deepEqual(run.heredocs[0], {
      name: "EOF",
      content: "apt-get update\napt-get install -y curl\n",
      expand: true,
      chomp: false,
      fileDescriptor: undefined,
      pos: { line: 2, column: 5 },
      bodyStartLine: 3,
      endLine: 5,
    });
    assert.deepEqual(run.range.end, { line: 5, column: 4 });
    assert.equal(run.original, "RUN <<EOF\napt-get update\napt-get install -y curl\nEOF");
    assert.equal(insts[2]?.keyword, "CMD");
  });

  it("reads several heredocs of one line, in order", () => {
    const c = parse("FROM a\nCOPY <<file1 <<file2 /dest/\none\nfile1\ntwo\nfile2\n")[1]!;
    assert.deepEqual(
      c.heredocs.map((h) => [h.name, h.content, h.bodyStartLine, h.endLine]),
      [
        ["file1", "one\n", 3, 4],
        ["file2", "two\n", 5, 6],
      ],
    );
    assert.equal(c.keyword === "COPY" && c.sources.map((s) => s.value).join(" "), "<<file1 <<file2");
  });

  it("finds heredocs anywhere in a RUN line, with a file descriptor or a blank after <<", () => {
    const r = parse("FROM a\nRUN cat <<A && python3 3<<B > out && cat << C\na\nA\nb\nB\nc\nC\n")[1]!;
    assert.deepEqual(
      r.heredocs.map((h) => [h.name, h.content, h.fileDescriptor]),
      [
        ["A", "a\n", undefined],
        ["B", "b\n", 3],
        ["C", "c\n", undefined],
      ],
    );
  });

  it("<<- strips leading tabs from the terminator; heredocBody strips them from the body", () => {
    const r = parse("FROM a\nRUN <<-EOT\n\techo a\n\t\techo b\n\tEOT\n")[1]!;
    const h = r.heredocs[0]!;
    assert.equal(h.chomp, true);
    assert.equal(h.content, "\techo a\n\t\techo b\n");
    assert.equal(heredocBody(h), "echo a\necho b\n");
    assert.equal(heredocBody({ content: "\tx\n", chomp: false }), "\tx\n");
  });

  it("a quoted delimiter (fully or in part) turns expansion off", () => {
    for (const [word, expand] of [
      ["<<EOF", true],
      ['<<"EOF"', false],
      ["<<'EOF'", false],
      ['<<E"O"F', false],
      ["<<-'EOF'", false],
    ] as const) {
      const r = parse(`FROM a\nRUN cat ${word}\n$X\nEOF\n`)[1]!;
      assert.equal(r.heredocs[0]?.name, "EOF", word);
      assert.equal(r.heredocs[0]?.expand, expand, word);
      assert.equal(r.heredocs[0]?.content, "$X\n", word);
    }
  });

  it("ignores << inside quotes, escaped, glued to a word, or as a here-string", () => {
    for (const line of [
      'RUN echo "<<EOF"',
      "RUN echo '<<EOF'",
      "RUN echo \\<<EOF",
      "RUN cat<<EOF",
      "RUN cat <<<EOF",
      "RUN cat <<",
    ]) {
      const insts = parse(`FROM a\n${line}\nCMD x\n`);
      assert.equal(insts[1]?.heredocs.length, 0, line);
      assert.equal(insts[2]?.keyword, "CMD", line);
    }
  });

  it("only RUN, COPY and ADD in shell form have heredocs", () => {
    const insts = parse('FROM a\nRUN ["cat", "<<EOF"]\nCMD cat <<EOF\nENV A=<<EOF\n');
    assert.deepEqual(
      insts.map((i) => i.heredocs.length),
      [0, 0, 0, 0],
    );
  });

  it("ONBUILD triggers carry their heredocs, and the expression includes them", () => {
    const o = parse("FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\n")[1]!;
    assert.equal(o.keyword, "ONBUILD");
    if (o.keyword !== "ONBUILD") return;
    assert.equal(o.heredocs[0]?.content, "echo hi\n");
    assert.equal(o.trigger?.heredocs[0]?.content, "echo hi\n");
    assert.equal(o.expression, "RUN <<EOF\necho hi\nEOF");
  });

  it("keeps CRLF line endings inside the body, as BuildKit does, and matches a CRLF terminator", () => {
    const r = parseDockerfile("FROM a\r\nRUN <<EOF\r\nx\r\nEOF\r\nCMD y\r\n").instructions;
    assert.equal(r[1]?.heredocs[0]?.content, "x\r\n");
    assert.equal(r[2]?.keyword, "CMD");
  });

  it("allows a heredoc on a continued line and comment-looking body lines", () => {
    const r = parse("FROM a\nRUN --network=none \\\n  cat <<EOF\n# not a comment\n\nEOF\n")[1]!;
    assert.equal(r.heredocs[0]?.content, "# not a comment\n\n");
    assert.deepEqual(r.heredocs[0]?.pos, { line: 3, column: 7 });
  });

  it("refuses a heredoc as COPY or ADD destination", () => {
    parseError("FROM a\nCOPY a <<EOF\nx\nEOF\n", /COPY cannot accept a heredoc as a destination/, 2, 8);
    parseError("FROM a\nADD <<A <<B\nx\nA\ny\nB\n", /ADD cannot accept a heredoc as a destination/);
  });

  it("fails on an unterminated heredoc, pointing at its opener", () => {
    const e = parseError("FROM a\nRUN echo a && cat <<EOF\nbody\n", /unterminated heredoc/, 2, 19);
    assert.match(e.hint ?? "", /EOF/);
    parseError("FROM a\nRUN <<-EOF\nbody\n  EOF\n", /unterminated heredoc/);
  });

  it("parses heredoc words", () => {
    assert.deepEqual(parseHeredocWord("<<EOF"), {
      name: "EOF",
      expand: true,
      chomp: false,
      fileDescriptor: undefined,
    });
    assert.deepEqual(parseHeredocWord("2<<-'X Y'"), {
      name: "X Y",
      expand: false,
      chomp: true,
      fileDescriptor: 2,
    });
    assert.equal(parseHeredocWord("<<"), undefined);
    assert.equal(parseHeredocWord("<<a b"), undefined);
    assert.equal(parseHeredocWord("x<<EOF"), undefined);
  });
});
