import assert from "node:assert/strict";
import { lstat, mkdir, mkdtemp, readdir, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ExecFailedError } from "../../../../src/worker/executor/errors.ts";
import { hostsFile } from "../../../../src/worker/executor/etc-files.ts";
import { findMissingMountPoints, removeMountStubs } from "../../../../src/worker/executor/mount-stubs.ts";
import { OutputTail } from "../../../../src/worker/executor/output-tail.ts";
import { mkdirInRoot, readRootfsFile, resolveInRoot } from "../../../../src/worker/executor/rootfs-path.ts";

let outside: string;
let root: string;

before(async () => {
  outside = await mkdtemp(join(tmpdir(), "polyarch-outside-"));
  root = await mkdtemp(join(tmpdir(), "polyarch-rootfs-"));
  await writeFile(join(outside, "passwd"), "host secret\n");
  await mkdir(join(root, "etc"));
  await mkdir(join(root, "usr/lib"), { recursive: true });
  await writeFile(join(root, "usr/lib/os-release"), "ID=test\n");
  await symlink("../usr/lib/os-release", join(root, "etc/os-release"));
  // Links that try to leave the rootfs: absolute, and through "..".
  await symlink(join(outside, "passwd"), join(root, "etc/passwd"));
  await symlink("../../../../../../../../..", join(root, "up"));
  await symlink("/usr", join(root, "abs-usr"));
});

after(async () => {
  await rm(outside, { recursive: true, force: true });
  await rm(root, { recursive: true, force: true });
});

test("symlinks are followed as the container sees them, never out of the rootfs", async () => {
  assert.equal(await readRootfsFile(root, "/etc/os-release"), "ID=test\n");
  assert.equal(await resolveInRoot(root, "/etc/passwd"), join(root, outside, "passwd"));
  assert.equal(await readRootfsFile(root, "/etc/passwd"), undefined);
  assert.equal(await resolveInRoot(root, "/up/etc"), join(root, "etc"));
  assert.equal(await resolveInRoot(root, "/abs-usr/lib/os-release"), join(root, "usr/lib/os-release"));
  assert.equal(await resolveInRoot(root, "/../../etc/../usr"), join(root, "usr"));
});

test("a missing working dir is created with its parents, owned by the user; existing ones are left alone", async () => {
  await mkdirInRoot(root, "/work/a/b", 1234, 5678);
  for (const p of ["work", "work/a", "work/a/b"]) {
    const st = await stat(join(root, p));
    assert.ok(st.isDirectory());
    if (process.getuid?.() === 0) assert.deepEqual([st.uid, st.gid], [1234, 5678]);
    assert.equal(st.mode & 0o777, 0o755);
  }
  // Through a symlink: created at the link's target inside the rootfs.
  await mkdirInRoot(root, "/abs-usr/share", 0, 0);
  assert.ok((await stat(join(root, "usr/share"))).isDirectory());
  await assert.rejects(mkdirInRoot(root, "/usr/lib/os-release/x", 0, 0), /is not a directory/);
});

test("mount points runc would create are found, and removed after the run only while still empty", async () => {
  const r = await mkdtemp(join(tmpdir(), "polyarch-stubs-"));
  try {
    await mkdir(join(r, "etc"));
    await writeFile(join(r, "etc/resolv.conf"), "nameserver 1.1.1.1\n");
    const stubs = await findMissingMountPoints(r, [
      "/proc",
      "/etc/hosts",
      "/etc/resolv.conf",
      "/cache/go/build",
    ]);
    assert.deepEqual(
      new Set(stubs.paths.map((p) => `/${p.join("/")}`)),
      new Set(["/proc", "/etc/hosts", "/cache/go/build", "/cache/go", "/cache"]),
    );
    assert.deepEqual(stubs.parents.map((p) => `/${p.parts.join("/")}`).sort(), ["/", "/etc"]);
    const etcBefore = (await stat(join(r, "etc"), { bigint: true })).mtimeNs;
    await new Promise((res) => setTimeout(res, 20));
    // What runc does: empty dirs and files at each missing point.
    await mkdir(join(r, "proc"));
    await writeFile(join(r, "etc/hosts"), "");
    await mkdir(join(r, "cache/go/build"), { recursive: true });
    await writeFile(join(r, "cache/go/kept"), "the step wrote this");
    await removeMountStubs(r, stubs);
    assert.deepEqual((await readdir(r)).sort(), ["cache", "etc"]);
    assert.deepEqual(await readdir(join(r, "etc")), ["resolv.conf"]);
    assert.deepEqual(await readdir(join(r, "cache/go")), ["kept"]);
    await assert.rejects(lstat(join(r, "cache/go/build")));
    // /etc looks untouched again, to the nanosecond; the root dir really changed (cache/ is new) and keeps its time.
    assert.equal((await stat(join(r, "etc"), { bigint: true })).mtimeNs, etcBefore);
  } finally {
    await rm(r, { recursive: true, force: true });
  }
});

test("hosts file has localhost and the hostname, then extra hosts", () => {
  assert.equal(
    hostsFile("buildkitsandbox", [{ host: "db", ip: "10.0.0.2" }]),
    "127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.0.2\tdb\n",
  );
});

test("the output tail keeps the last lines within its byte budget", () => {
  const tail = new OutputTail(64);
  for (let i = 0; i < 100; i++) tail.push(Buffer.from(`line ${i}\n`));
  assert.deepEqual(tail.lines(3), ["line 97", "line 98", "line 99"]);
  assert.ok(tail.lines(100).length < 10);
  assert.ok(!tail.lines(100)[0]?.startsWith("ne"), "no half line at the front");
});

test("a failed step's error names the command, the exit code and its last lines", () => {
  const e = new ExecFailedError(["/bin/sh", "-c", "make all"], 2, ["make: *** [all] Error 2"]);
  assert.equal(e.message, 'process "/bin/sh -c make all" did not complete successfully: exit code: 2');
  assert.match(e.hint ?? "", /make: \*\*\* \[all\] Error 2/);
  assert.equal(e.exitCode, 2);
  assert.match(new ExecFailedError(["x"], 137, []).message, /exit code: 137 \(killed by signal 9\)/);
});

test("stub clean-up follows no link the step planted: a parent swapped for a link keeps its target's files", async () => {
  const r = await mkdtemp(join(tmpdir(), "polyarch-stubs-"));
  const host = await mkdtemp(join(tmpdir(), "polyarch-stub-target-"));
  try {
    await mkdir(join(host, "empty"));
    await writeFile(join(host, "zero"), "");
    const stubs = await findMissingMountPoints(r, ["/x/empty", "/x/zero"]);
    await mkdir(join(r, "x/empty"), { recursive: true });
    await writeFile(join(r, "x/zero"), "");
    // The step: /x moved aside, a link to the host directory in its place, then one to where /x went.
    await rename(join(r, "x"), join(r, "x.moved"));
    await symlink(host, join(r, "x"));
    await removeMountStubs(r, stubs);
    await rm(join(r, "x"));
    await symlink("/x.moved", join(r, "x"));
    await removeMountStubs(r, stubs);
    assert.deepEqual((await readdir(host)).sort(), ["empty", "zero"]);
    assert.deepEqual((await readdir(join(r, "x.moved"))).sort(), ["empty", "zero"]);
  } finally {
    await rm(r, { recursive: true, force: true });
    await rm(host, { recursive: true, force: true });
  }
});
