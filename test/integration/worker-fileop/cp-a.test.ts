/**
 * COPY against an independent implementation (root): what applyFileOp writes is what GNU `cp -a`, then
 * `chown -hR` / `chmod` where COPY has --chown / --chmod, gives for the same tree: contents, types,
 * modes, owners, link targets, hard links, device numbers, xattrs and mtimes.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, linkSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setAttributeSync } from "@napi-rs/xattr";
import { applyFileOp } from "../../../src/worker/fileop/index.ts";
import type { CopyAction } from "../../../src/worker/fileop/types.ts";
import { copyOf, tempDir } from "../../unit/worker/fileop/helpers.ts";
import { describeTree } from "../../unit/worker/layer/tree.ts";

const isRoot = process.getuid?.() === 0;
const when = { skip: !isRoot && "compares ownership, devices and security xattrs: needs root" };

const capability = Buffer.from([
  0x01, 0x00, 0x00, 0x02, 0x80, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
]);
const t = 1_650_000_000;

/** Files, dirs, links of every kind, hard links, a device, a fifo, xattrs, odd modes and owners. */
function plainTree(root: string): void {
  mkdirSync(join(root, "app/lib"), { recursive: true });
  writeFileSync(join(root, "app/main.js"), "console.log(1)\n");
  writeFileSync(join(root, "app/lib/util.js"), "export {}\n");
  chmodSync(join(root, "app/lib"), 0o750);
  writeFileSync(join(root, "app/run.sh"), "#!/bin/sh\n");
  chmodSync(join(root, "app/run.sh"), 0o700);
  linkSync(join(root, "app/main.js"), join(root, "app/main-hardlink.js"));
  symlinkSync("lib/util.js", join(root, "app/util-link.js"));
  symlinkSync("/etc/passwd", join(root, "app/absolute-link"));
  symlinkSync("../../nowhere", join(root, "app/dangling"));
  mkdirSync(join(root, "ünïcødé ✓"));
  writeFileSync(join(root, "ünïcødé ✓/файл"), "non-ascii");
  setAttributeSync(join(root, "ünïcødé ✓/файл"), "user.comment", Buffer.from("hello"));
  mkdirSync(join(root, "tmp"));
  chmodSync(join(root, "tmp"), 0o1777);
  mkdirSync(join(root, "dev"));
  execFileSync("mknod", [join(root, "dev/null"), "c", "1", "3"]);
  execFileSync("mkfifo", [join(root, "dev/pipe")]);
  writeFileSync(join(root, "owned"), "x");
  execFileSync("chown", ["-h", "1001:1002", join(root, "owned"), join(root, "app/util-link.js")]);
  writeFileSync(join(root, "empty"), "");
}

/** Entries whose mode or xattrs a chown would clear (COPY keeps them: it chowns before it chmods). */
function privilegedTree(root: string): void {
  mkdirSync(join(root, "bin"), { recursive: true });
  writeFileSync(join(root, "bin/busybox"), Buffer.alloc(70_000, 1));
  chmodSync(join(root, "bin/busybox"), 0o4755);
  writeFileSync(join(root, "bin/ping"), "ping");
  setAttributeSync(join(root, "bin/ping"), "security.capability", capability);
}

function stamp(root: string): void {
  execFileSync("find", [root, "-exec", "touch", "-h", "-d", `@${t}`, "{}", "+"]);
  utimesSync(root, t, t);
}

function trees(build: (root: string) => void) {
  const base = tempDir("polyarch-fileop-cp-");
  const src = join(base, "src");
  const dest = join(base, "dest");
  const ref = join(base, "ref");
  for (const d of [src, dest, ref]) mkdirSync(d);
  mkdirSync(join(src, "tree"));
  build(join(src, "tree"));
  stamp(join(src, "tree"));
  return { src, dest, ref };
}

async function copy(dest: string, src: string, action: CopyAction, contextInputs: number[] = []) {
  await applyFileOp({ kind: "file", actions: [action] }, { dest, inputs: [dest, src], contextInputs });
}

const cp = (...args: string[]) => execFileSync("cp", ["-a", ...args]);

describe("COPY agrees with cp -a (root)", when, () => {
  it("COPY --from=stage dir /out: the tree as cp -a copies it, owners kept", async () => {
    const { src, dest, ref } = trees((root) => {
      plainTree(root);
      privilegedTree(root);
    });
    await copy(dest, src, copyOf("/tree", "/out"));
    mkdirSync(join(ref, "out"));
    cp(`${src}/tree/.`, join(ref, "out"));
    assert.deepEqual(describeTree(join(dest, "out")), describeTree(join(ref, "out")));
  });

  it("COPY . /out from a local context: as cp -a, then chown -hR 0:0", async () => {
    const { src, dest, ref } = trees(plainTree);
    await copy(dest, src, copyOf("/tree", "/out"), [1]);
    mkdirSync(join(ref, "out"));
    cp(`${src}/tree/.`, join(ref, "out"));
    execFileSync("chown", ["-hR", "0:0", join(ref, "out")]);
    assert.deepEqual(describeTree(join(dest, "out")), describeTree(join(ref, "out")));
  });

  it("COPY --chown=1000:2000: as cp -a, then chown -hR 1000:2000", async () => {
    const { src, dest, ref } = trees(plainTree);
    await copy(dest, src, copyOf("/tree", "/out", { owner: { user: "1000", group: "2000" } }), [1]);
    mkdirSync(join(ref, "out"));
    cp(`${src}/tree/.`, join(ref, "out"));
    execFileSync("chown", ["-hR", "1000:2000", join(ref, "out")]);
    assert.deepEqual(describeTree(join(dest, "out")), describeTree(join(ref, "out")));
  });

  it("COPY --chmod=0640: as cp -a, then chmod 0640 on everything but symlinks", async () => {
    const { src, dest, ref } = trees(plainTree);
    await copy(dest, src, copyOf("/tree", "/out", { mode: 0o640 }));
    mkdirSync(join(ref, "out"));
    cp(`${src}/tree/.`, join(ref, "out"));
    execFileSync("sh", [
      "-c",
      'find "$1" -mindepth 1 ! -type l -exec chmod 0640 {} +',
      "sh",
      join(ref, "out"),
    ]);
    // chmod on directories after the copy leaves their mtimes; compare them too.
    assert.deepEqual(describeTree(join(dest, "out")), describeTree(join(ref, "out")));
  });

  it("COPY --chmod=u+x,go-w: as cp -a, then chmod u+x,go-w", async () => {
    const { src, dest, ref } = trees(plainTree);
    await copy(dest, src, copyOf("/tree", "/out", { mode: "u+x,go-w" }));
    mkdirSync(join(ref, "out"));
    cp(`${src}/tree/.`, join(ref, "out"));
    execFileSync("sh", [
      "-c",
      'find "$1" -mindepth 1 ! -type l -exec chmod u+x,go-w {} +',
      "sh",
      join(ref, "out"),
    ]);
    assert.deepEqual(describeTree(join(dest, "out")), describeTree(join(ref, "out")));
  });

  it("COPY app/*.js /out/ and a file into a directory: as cp -aH of the matches", async () => {
    const { src, dest, ref } = trees(plainTree);
    await copy(dest, src, copyOf("/tree/app/*.js", "/out/"));
    await copy(dest, src, copyOf("/tree/owned", "/out/"));
    mkdirSync(join(ref, "out"));
    // Each match is a source path of its own, so a matched symlink is followed (cp's -H), as in BuildKit.
    execFileSync("sh", ["-c", 'cp -aH "$1"/*.js "$2"/', "sh", join(src, "tree/app"), join(ref, "out")]);
    cp(join(src, "tree/owned"), join(ref, "out/"));
    assert.deepEqual(describeTree(join(dest, "out")), describeTree(join(ref, "out")));
  });

  it("keeps setuid and security.capability under --chown, which cp -a + chown would clear", async () => {
    const { src, dest } = trees(privilegedTree);
    await copy(dest, src, copyOf("/tree", "/out", { owner: { user: "1000" } }));
    const out = describeTree(join(dest, "out"));
    assert.equal(out["bin/busybox"]?.mode, "4755");
    assert.equal(out["bin/busybox"]?.owner, "1000:1000");
    assert.equal(out["bin/ping"]?.xattrs?.["security.capability"], capability.toString("hex"));
  });
});
