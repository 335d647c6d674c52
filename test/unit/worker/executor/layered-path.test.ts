import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import tarStream from "tar-stream";
import { readLayeredFile, resolveLayered } from "../../../../src/worker/executor/layered-path.ts";

let dir: string;
let bottom: string;
let middle: string;
let top: string;
const isRoot = process.getuid?.() === 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-layered-"));
  [bottom, middle, top] = ["bottom", "middle", "top"].map((n) => join(dir, n)) as [string, string, string];
  for (const l of [bottom, middle, top]) await mkdir(join(l, "etc"), { recursive: true });
  await writeFile(join(bottom, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  await writeFile(join(bottom, "etc/group"), "root:x:0:\n");
  await writeFile(join(bottom, "etc/shadow"), "old\n");
  await mkdir(join(bottom, "etc/ssl"));
  await writeFile(join(bottom, "etc/ssl/cert"), "old\n");
  await writeFile(join(middle, "etc/passwd"), "app:x:1000:1000::/home/app:/bin/sh\n");
  await mkdir(join(bottom, "usr/etc"), { recursive: true });
  await writeFile(join(bottom, "usr/etc/motd"), "hi\n");
  await symlink("/usr/etc", join(top, "alt"));
});
after(() => rm(dir, { recursive: true, force: true }));

test("the topmost layer's file wins, and lower layers show through absent entries", async () => {
  const layers = [top, middle, bottom];
  assert.equal(await readLayeredFile(layers, "/etc/passwd"), "app:x:1000:1000::/home/app:/bin/sh\n");
  assert.equal(await readLayeredFile(layers, "/etc/group"), "root:x:0:\n");
  assert.equal(await readLayeredFile(layers, "/etc/missing"), undefined);
  assert.equal(await readLayeredFile(layers, "/etc"), undefined, "a directory is not a file");
});

test("symlinks resolve inside the stack", async () => {
  const layers = [top, middle, bottom];
  assert.equal(await readLayeredFile(layers, "/alt/motd"), "hi\n");
  assert.deepEqual((await resolveLayered(layers, "/alt/new/x")).parts, ["usr", "etc", "new", "x"]);
});

test("a whiteout hides the path, and an opaque directory hides what lies beneath it", {
  skip: !isRoot,
}, async () => {
  const w = join(dir, "whiteouts");
  await mkdir(join(w, "etc/ssl"), { recursive: true });
  execFileSync("mknod", [join(w, "etc/shadow"), "c", "0", "0"]);
  // Node cannot set xattrs: GNU tar extracts one from a pax header.
  const pack = tarStream.pack();
  pack.entry({
    name: "etc/ssl",
    type: "directory",
    mode: 0o755,
    pax: { "SCHILY.xattr.trusted.overlay.opaque": "y" },
  });
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  execFileSync("tar", ["--xattrs", "--xattrs-include=*", "-C", w, "-xf", "-"], {
    input: Buffer.concat(chunks),
  });
  const layers = [w, bottom];
  assert.equal(await readLayeredFile(layers, "/etc/shadow"), undefined);
  assert.equal(await readLayeredFile(layers, "/etc/ssl/cert"), undefined);
  assert.equal(await readLayeredFile(layers, "/etc/group"), "root:x:0:\n");
  assert.equal(await readLayeredFile([bottom], "/etc/shadow"), "old\n");
});
