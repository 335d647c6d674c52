import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { LineSplitter } from "../../../src/progress/log-lines.ts";
import { createRedactor } from "../../../src/progress/redact.ts";
import { utf8 } from "./fake-terminal.ts";

const none = createRedactor([]);

test("lines are whole across chunks, even a multi-byte character cut in two", () => {
  const s = new LineSplitter({ redact: none });
  const bytes = utf8("héllo wörld\n");
  const a = s.push(bytes.subarray(0, 2));
  const b = s.push(bytes.subarray(2));
  assert.deepEqual(a, []);
  assert.deepEqual(b, [{ text: "héllo wörld", complete: true }]);
  assert.deepEqual(s.flush(), []);
});

test("a progress bar redrawn with \\r shows only its last state; CRLF endings are dropped", () => {
  const s = new LineSplitter({ redact: none });
  assert.deepEqual(s.push(utf8(" 10%\r 50%\r100%\ndone\r\n")), [
    { text: "100%", complete: true },
    { text: "done", complete: true },
  ]);
});

test("a progress bar that never ends its line does not grow what is held", () => {
  const s = new LineSplitter({ redact: none, maxHeld: 100 });
  for (let i = 0; i < 1000; i++) assert.deepEqual(s.push(utf8(`\r${i}%`)), []);
  assert.deepEqual(s.flush(), [{ text: "999%", complete: false }]);
});

test("rawjson's mode keeps the bytes: line breaks and carriage returns pass through", () => {
  const s = new LineSplitter({ redact: none, collapseCarriageReturns: false });
  assert.deepEqual(
    s.push(utf8("a\r\nb\rc\n")).map((p) => p.text),
    ["a\r\n", "b\rc\n"],
  );
});

test("a line longer than maxHeld is passed on in pieces that together are the line", () => {
  const s = new LineSplitter({ redact: none, maxHeld: 100 });
  const pieces = [];
  for (let i = 0; i < 10; i++) pieces.push(...s.push(utf8("x".repeat(50))));
  pieces.push(...s.push(utf8("y\n")));
  assert.ok(pieces.length >= 4, `${pieces.length} pieces`);
  assert.equal(pieces.map((p) => p.text).join(""), `${"x".repeat(500)}y`);
  assert.ok(pieces.slice(0, -1).every((p) => !p.complete && p.text.length <= 150));
  assert.equal(pieces.at(-1)?.complete, true);
});

test("redaction masks every value and each line of a multi-line value", () => {
  const r = createRedactor(["s3cret", "-----BEGIN KEY-----\nAAAABBBB\n-----END KEY-----", ""]);
  assert.equal(r("a s3cret b s3cret"), "a *** b ***");
  assert.equal(r("line AAAABBBB"), "line ***");
  assert.equal(createRedactor([]).longest, 0);
});

test("property: a secret never survives, however the output is chunked and however long the lines", () => {
  const secret = "tok_9f8e7d6c5b4a";
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom("a", "b", "\n", "\r", " ", secret, "tok_", "é"), { maxLength: 200 }),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
      fc.integer({ min: 1, max: 80 }),
      fc.boolean(),
      (parts, cuts, maxHeld, collapse) => {
        const bytes = utf8(parts.join(""));
        const s = new LineSplitter({
          redact: createRedactor([secret]),
          maxHeld,
          collapseCarriageReturns: collapse,
        });
        const out: string[] = [];
        let at = 0;
        for (let i = 0; at < bytes.length; i++) {
          const n = cuts[i % cuts.length]!;
          out.push(...s.push(bytes.subarray(at, at + n)).map((p) => p.text));
          at += n;
        }
        out.push(...s.flush().map((p) => p.text));
        for (const line of out) assert.ok(!line.includes(secret), JSON.stringify(line));
        if (!collapse) assert.equal(out.join(""), parts.join("").split(secret).join("***"));
      },
    ),
  );
});
