/**
 * Differential: what COPY takes from the build context (symlinks, unusual names, .dockerignore), built by
 * BuildKit and by polyarch; the exported trees must be the same entry by entry.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertSameTree, Differential } from "./support.ts";

let d: Differential;
before(async () => {
  d = await Differential.start();
});
after(() => d?.[Symbol.asyncDispose]());

test("symlinks in the context: a linked source, a path through a linked directory, wildcards and absolute links are followed inside the context", async () => {
  const seen = await d.both(
    {
      "real/foo": "foo\n",
      "real/sub/s": "s\n",
      link: { link: "real" },
      flink: { link: "real/foo" },
      "d/rel": { link: "../real/foo" },
      abs: { link: "/real/foo" },
      chain: { link: "link" },
      Dockerfile: [
        "FROM scratch",
        "COPY link/foo /a/",
        "COPY link/sub /b",
        "COPY flink /c/",
        "COPY link /d",
        "COPY fl* /e/",
        "COPY d/rel /f/",
        "COPY abs /g/",
        "COPY d /h",
        "COPY chain/sub/s /i",
        "COPY l*/sub /j/",
        "",
      ].join("\n"),
    },
    { output: "local" },
  );
  assertSameTree(seen);
  assert.ok(seen.polyarch.tree!.some((e) => e.path === "a/foo" && e.content === "foo\n"));
});

test("symlinks in the context: a link that leaves the context is an error in both", async () => {
  const seen = await d.both(
    { out: { link: "../../../../etc/hostname" }, Dockerfile: "FROM scratch\nCOPY out /x\n" },
    { output: "local" },
  );
  assert.ok(!seen.buildkit.ok, seen.buildkit.output);
  assert.ok(!seen.polyarch.ok, seen.polyarch.output);
  assert.match(
    seen.polyarch.error,
    /out is a symbolic link to "..\/..\/..\/..\/etc\/hostname", which does not exist/,
  );
});

test("context names with +, %XX, spaces and non-ASCII characters copy as written", async () => {
  const seen = await d.both(
    {
      "a+b": "1",
      "c%20d": "2",
      "e f": "3",
      "ü€.txt": "4",
      "%2e%2e": "5",
      "dir %41/x+y": "6",
      "f(1)|{2}^": "7",
      Dockerfile: [
        "FROM scratch",
        "COPY a+b c%20d /o/",
        `COPY ["e f", "/o/"]`,
        "COPY ü€.txt %2e%2e /o/",
        "COPY dir* /p/",
        "COPY *+* /q/",
        `COPY ["dir %41/x+y", "/r/a b+%2F"]`,
        "COPY f(1)|{2}^ /s/",
        "COPY f(* /t/",
        "",
      ].join("\n"),
    },
    { output: "local" },
  );
  assertSameTree(seen);
  assert.ok(seen.polyarch.tree!.some((e) => e.path === "q/a+b"));
});

test(".dockerignore: a pattern with + or ( excludes what it names", async () => {
  const seen = await d.both(
    {
      "a+b": "1",
      "f(1)": "2",
      keep: "3",
      ".dockerignore": "a+b\nf(1)\n",
      Dockerfile: "FROM scratch\nCOPY . /\n",
    },
    { output: "local" },
  );
  assertSameTree(seen);
});

test(".dockerignore: an invalid pattern is an error naming the file and line", async () => {
  const seen = await d.both(
    { ".dockerignore": "# ok\nfine\na[b\n", Dockerfile: "FROM scratch\nCOPY . /\n" },
    { output: "local" },
  );
  assert.ok(
    !seen.buildkit.ok && seen.buildkit.error.includes("syntax error in pattern"),
    seen.buildkit.output,
  );
  assert.ok(!seen.polyarch.ok, seen.polyarch.output);
  assert.match(seen.polyarch.error, /^error: syntax error in pattern "a\[b" at \S*\.dockerignore:3$/m);
});
