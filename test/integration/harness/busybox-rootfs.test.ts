import assert from "node:assert/strict";
import { lstat, mkdtemp, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parsePlatform } from "../../../src/oci/platform.ts";
import { busyboxApplets, busyboxRootfs } from "../../harness/busybox-rootfs.ts";
import { run } from "../../harness/exec.ts";

const expected: Record<string, string> = {
  "linux/amd64": "x86_64",
  "linux/arm64": "aarch64",
  "linux/arm/v7": "armv7l",
};

// Emulators called by path: binfmt_misc may not be mounted where the tests run.
const emulator: Record<string, string[]> = {
  "linux/amd64": [],
  "linux/arm64": ["qemu-aarch64-static"],
  "linux/arm/v7": ["qemu-arm-static"],
};

for (const [name, machine] of Object.entries(expected)) {
  test(`busybox rootfs for ${name} is a real ${machine} busybox`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "polyarch-bbrootfs-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await busyboxRootfs(parsePlatform(name), dir);

    const [emu, ...emuArgs] = emulator[name]!;
    const bin = join(dir, "bin", "busybox");
    const r = emu ? await run(emu, [...emuArgs, bin, "uname", "-m"]) : await run(bin, ["uname", "-m"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), machine);

    for (const applet of ["sh", "ls", "cat", "uname", "grep", "sed", "ln"]) {
      assert.ok(busyboxApplets.includes(applet));
      assert.equal(await readlink(join(dir, "bin", applet)), "busybox");
    }
    assert.equal((await lstat(join(dir, "tmp"))).mode & 0o7777, 0o1777);
    for (const mount of ["proc", "dev", "sys", "root"])
      assert.ok((await lstat(join(dir, mount))).isDirectory());
    const passwd = await readFile(join(dir, "etc", "passwd"), "utf8");
    assert.match(passwd, /^root:x:0:0:/m);
    assert.match(passwd, /^app:x:1000:1000:/m);
    assert.match(await readFile(join(dir, "etc", "group"), "utf8"), /^app:x:1000:$/m);
  });
}

test("the amd64 rootfs's shell runs a script with its applets", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-bbrootfs-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await busyboxRootfs(parsePlatform("linux/amd64"), dir);
  const r = await run(join(dir, "bin", "busybox"), ["sh", "-c", "echo a b c | wc -w | tr -d ' '"], {
    env: { PATH: join(dir, "bin") },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "3");
});

test("an unsupported platform is refused with the supported list", async () => {
  await assert.rejects(busyboxRootfs(parsePlatform("linux/s390x"), "/nonexistent"), /linux\/arm\/v7/);
});
