import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { chmodNoFollow } from "../../../src/fsutil/no-follow.ts";

test("chmodNoFollow sets a file's mode and leaves what a symlink points at alone", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "polyarch-nofollow-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "target"), "x", { mode: 0o644 });
  symlinkSync(join(dir, "target"), join(dir, "link"));
  assert.equal(chmodNoFollow(join(dir, "link"), 0o6777), false);
  assert.equal(statSync(join(dir, "target")).mode & 0o7777, 0o644);
  assert.equal(chmodNoFollow(join(dir, "target"), 0o4711), true);
  assert.equal(lstatSync(join(dir, "target")).mode & 0o7777, 0o4711);
  // A fifo is not opened (an open for reading would block until a writer came).
  execFileSync("mkfifo", [join(dir, "fifo")]);
  assert.equal(chmodNoFollow(join(dir, "fifo"), 0o600), true);
  assert.equal(lstatSync(join(dir, "fifo")).mode & 0o7777, 0o600);
  assert.throws(() => chmodNoFollow(join(dir, "missing"), 0o600), /ENOENT/);
});
