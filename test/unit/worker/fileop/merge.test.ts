import assert from "node:assert/strict";
import { linkSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { mergeInto } from "../../../../src/worker/fileop/index.ts";
import { isRoot, tempDir, writeTree } from "./helpers.ts";

it("lays upper trees over the destination in order, as stacked layers would", async () => {
  const base = tempDir();
  const [dest, one, two] = ["dest", "one", "two"].map((n) => {
    mkdirSync(join(base, n));
    return join(base, n);
  }) as [string, string, string];
  writeTree(dest, { "bin/sh": "shell", lib: { link: "usr/lib" }, "usr/lib/libc": "c", "etc/conf": "old" });
  writeTree(one, { "etc/conf": "one", "app/a": "A", bin: { link: "usr/bin" } });
  writeTree(two, { "etc/conf": "two", "lib/extra": "x", "app/b": "B" });
  linkSync(join(two, "app/b"), join(two, "app/b2"));
  await mergeInto(dest, [one, two]);
  assert.equal(readFileSync(join(dest, "etc/conf"), "utf8"), "two");
  assert.equal(readFileSync(join(dest, "app/a"), "utf8"), "A");
  // A link replaces a directory and a directory replaces a link: the upper entry wins whatever its type.
  assert.equal(readlinkSync(join(dest, "bin")), "usr/bin");
  assert.ok(lstatSync(join(dest, "lib")).isDirectory());
  assert.equal(readFileSync(join(dest, "lib/extra"), "utf8"), "x");
  assert.equal(statSync(join(dest, "app/b")).ino, statSync(join(dest, "app/b2")).ino);
  if (isRoot) assert.equal(statSync(join(dest, "app/a")).uid, 0);
});
