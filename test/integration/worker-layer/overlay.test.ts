/**
 * Root only: the differ on a real overlayfs upperdir, devices, owners and security xattrs, and the
 * applier's overlay mode stacked as real lowerdirs.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  lchownSync,
  linkSync,
  mkdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import { setAttributeSync } from "@napi-rs/xattr";
import { applyFile, exportToFile, tempDir } from "../../unit/worker/layer/helpers.ts";
import { describeTree } from "../../unit/worker/layer/tree.ts";

const mounted: string[] = [];
// Per test, so that mounts are gone before the temp dirs are removed.
afterEach(() => {
  for (const m of mounted.splice(0).reverse()) execFileSync("umount", ["-l", m]);
});

function mountOverlay(lowers: string[], upper?: string): string {
  const base = tempDir("polyarch-ovl-");
  const merged = join(base, "merged");
  mkdirSync(merged);
  let options = `lowerdir=${lowers.join(":")}`;
  if (upper !== undefined) {
    const work = join(base, "work");
    mkdirSync(work);
    options += `,upperdir=${upper},workdir=${work}`;
  }
  execFileSync("mount", ["-t", "overlay", "overlay", "-o", options, merged]);
  mounted.push(merged);
  return merged;
}

function unmount(merged: string): void {
  execFileSync("umount", [merged]);
  mounted.splice(mounted.indexOf(merged), 1);
}

// vfs_cap_data v2 granting cap_net_bind_service (bit 10) and cap_setuid (bit 7, a byte >= 0x80).
const capability = Buffer.from([
  0x01, 0x00, 0x00, 0x02, 0x80, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
]);

function buildLower(root: string): void {
  mkdirSync(join(root, "etc"));
  writeFileSync(join(root, "etc/a"), "a");
  writeFileSync(join(root, "etc/b"), "b");
  mkdirSync(join(root, "var/cache/sub"), { recursive: true });
  writeFileSync(join(root, "var/cache/old1"), "1");
  writeFileSync(join(root, "var/cache/sub/old2"), "2");
  mkdirSync(join(root, "usr/bin"), { recursive: true });
  writeFileSync(join(root, "usr/bin/tool"), "#!/bin/sh\n");
  chmodSync(join(root, "usr/bin/tool"), 0o755);
  writeFileSync(join(root, "untouched"), "same");
}

/** What a RUN step might do, applied through the merged view. */
function runStep(merged: string, opaque: boolean): void {
  writeFileSync(join(merged, "etc/a"), "a changed");
  rmSync(join(merged, "etc/b"));
  if (opaque) {
    rmSync(join(merged, "var/cache"), { recursive: true });
    mkdirSync(join(merged, "var/cache"));
    writeFileSync(join(merged, "var/cache/new"), "n");
  } else {
    rmSync(join(merged, "var/cache/sub"), { recursive: true });
  }
  chmodSync(join(merged, "usr/bin/tool"), 0o4750);
  writeFileSync(join(merged, "usr/bin/ping"), "ELF");
  chownSync(join(merged, "usr/bin/ping"), 1234, 5678);
  chmodSync(join(merged, "usr/bin/ping"), 0o2755);
  setAttributeSync(join(merged, "usr/bin/ping"), "security.capability", capability);
  setAttributeSync(join(merged, "usr/bin/ping"), "trusted.polyarch", Buffer.from("t"));
  mkdirSync(join(merged, "dev"));
  execFileSync("mknod", [join(merged, "dev/null"), "c", "1", "3"]);
  execFileSync("mknod", [join(merged, "dev/loop9"), "b", "7", "9"]);
  execFileSync("mkfifo", [join(merged, "dev/fifo")]);
  mkdirSync(join(merged, "tmp"), { mode: 0o1777 });
  chmodSync(join(merged, "tmp"), 0o1777);
  linkSync(join(merged, "etc/a"), join(merged, "etc/a.hard"));
  symlinkSync("/usr/bin/tool", join(merged, "tool"));
  lchownSync(join(merged, "tool"), 4_000_000, 4_000_001);
}

describe("differ on an overlayfs upperdir (root)", () => {
  for (const opaque of [false, true]) {
    it(`turns the upperdir into a layer that recreates the merged view${opaque ? " (opaque dir)" : ""}`, async () => {
      const lower = tempDir();
      buildLower(lower);
      const upper = tempDir();
      const merged = mountOverlay([lower], upper);
      runStep(merged, opaque);
      const expected = describeTree(merged);
      // The comparison below covers what matters only if the description holds it.
      assert.equal(expected["usr/bin/ping"]?.xattrs?.["security.capability"], capability.toString("hex"));
      assert.equal(expected["usr/bin/ping"]?.owner, "1234:5678");
      assert.equal(expected["usr/bin/ping"]?.mode, "2755");
      assert.equal(expected.tool?.owner, "4000000:4000001");
      assert.equal(expected["etc/a.hard"]?.hardlinkOf, "etc/a");
      const copy = join(tempDir(), "copy");
      execFileSync("cp", ["-a", merged, copy]);
      unmount(merged);

      const work = tempDir();
      const fromOverlay = await exportToFile(join(work, "ovl.tgz"), { lower, upper, upperKind: "overlay" });
      const fromTree = await exportToFile(join(work, "tree.tgz"), { lower, upper: copy, upperKind: "tree" });
      assert.ok(!fromOverlay.empty && !fromTree.empty);
      // An opaque directory is one marker from overlay, a whiteout per child from a tree comparison.
      if (opaque) assert.notEqual(fromOverlay.diffId, fromTree.diffId);
      else assert.equal(fromOverlay.diffId, fromTree.diffId);

      for (const file of ["ovl.tgz", "tree.tgz"]) {
        const root = join(tempDir(), "root");
        execFileSync("cp", ["-a", lower, root]);
        const applied = await applyFile(join(work, file), { root });
        assert.deepEqual(applied.warnings, []);
        assert.deepEqual(describeTree(root), expected, file);
      }

      // The same layers unpacked as overlay lowerdirs and stacked give the same view.
      const baseLayer = join(work, "base.tgz");
      assert.equal((await exportToFile(baseLayer, { upper: lower, upperKind: "tree" })).empty, false);
      const dir1 = tempDir();
      const dir2 = tempDir();
      await applyFile(baseLayer, { root: dir1, whiteouts: "overlay" });
      await applyFile(join(work, "ovl.tgz"), { root: dir2, whiteouts: "overlay" });
      const stacked = mountOverlay([dir2, dir1]);
      assert.deepEqual(describeTree(stacked), expected);
    });
  }

  it("reports an overlay step that changed nothing as an empty layer", async () => {
    const lower = tempDir();
    buildLower(lower);
    const upper = tempDir();
    const merged = mountOverlay([lower], upper);
    unmount(merged);
    const empty = await exportToFile(join(tempDir(), "e.tgz"), { lower, upper, upperKind: "overlay" });
    assert.deepEqual(empty, { empty: true });
  });
});
