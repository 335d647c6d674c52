import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { overlayMountPlan } from "../../../../src/worker/snapshot/mount.ts";
import { checkSnapshotKey } from "../../../../src/worker/snapshot/snapshotter.ts";
import { diffTrees, indexTree } from "../../../../src/worker/snapshot/tree-index.ts";

const allFeatures = { redirectDir: true, metacopy: true, index: true };

test("overlay options stack the parents top first and turn off what would hide changes from the upper dir", () => {
  const plan = overlayMountPlan(["/l/base", "/l/mid", "/l/top"], "/a/upper", "/a/work", allFeatures);
  assert.equal(
    plan.options,
    "lowerdir=/l/top:/l/mid:/l/base,upperdir=/a/upper,workdir=/a/work,index=off,redirect_dir=off,metacopy=off",
  );
  assert.equal(plan.cwd, undefined);
  const bare = overlayMountPlan(["/l/base"], "/a/upper", "/a/work", {
    redirectDir: false,
    metacopy: false,
    index: false,
  });
  assert.equal(bare.options, "lowerdir=/l/base,upperdir=/a/upper,workdir=/a/work");
});

test("too many layers for one page: paths become relative to a common directory", () => {
  const lowers = Array.from(
    { length: 80 },
    (_, i) => `/var/lib/polyarch/snapshots/layers/sha256-${String(i).padStart(64, "0")}`,
  );
  const plan = overlayMountPlan(
    lowers,
    "/var/lib/polyarch/snapshots/active/k/upper",
    "/var/lib/polyarch/snapshots/active/k/work",
    allFeatures,
  );
  assert.equal(plan.cwd, "/var/lib/polyarch/snapshots");
  assert.ok(plan.options.startsWith(`lowerdir=layers/sha256-${String(79).padStart(64, "0")}:`));
  assert.ok(plan.options.includes("upperdir=active/k/upper,workdir=active/k/work"));
});

test("snapshot keys must not name paths", () => {
  assert.equal(checkSnapshotKey("sha256:abc"), "sha256:abc");
  for (const bad of ["", "..", "a/b", "../x", "a b"]) assert.throws(() => checkSnapshotKey(bad));
});

test("the copy snapshotter's diff: new, changed and deleted paths, in overlay terms", async () => {
  const root = await mkdtemp(join(tmpdir(), "polyarch-diff-"));
  try {
    await mkdir(join(root, "etc"));
    await mkdir(join(root, "usr/share/doc"), { recursive: true });
    await mkdir(join(root, "var/cache"), { recursive: true });
    await writeFile(join(root, "etc/keep"), "same");
    await writeFile(join(root, "etc/change"), "old");
    await writeFile(join(root, "etc/gone"), "x");
    await writeFile(join(root, "usr/share/doc/a"), "a");
    await writeFile(join(root, "usr/share/doc/b"), "b");
    await writeFile(join(root, "var/cache/old"), "o");
    const before = await indexTree(root);

    await writeFile(join(root, "etc/change"), "new");
    await rm(join(root, "etc/gone"));
    await rm(join(root, "usr/share"), { recursive: true });
    // A directory removed and made again: its old children that are gone need whiteouts of their own.
    await rm(join(root, "var/cache"), { recursive: true });
    await mkdir(join(root, "var/cache"));
    await writeFile(join(root, "var/cache/new"), "n");
    await mkdir(join(root, "opt"));
    await symlink("/etc/keep", join(root, "opt/link"));

    const changes = diffTrees(before, await indexTree(root));
    assert.deepEqual(changes.whiteouts.sort(), ["etc/gone", "usr/share", "var/cache/old"]);
    assert.deepEqual(changes.copy, [
      "etc",
      "etc/change",
      "opt",
      "opt/link",
      "usr",
      "var",
      "var/cache",
      "var/cache/new",
    ]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
