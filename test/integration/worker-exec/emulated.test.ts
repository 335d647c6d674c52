import assert from "node:assert/strict";
import { mkdtemp, readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { UserError } from "../../../src/errors/user-error.ts";
import { formatPlatform, hostPlatform, type Platform, samePlatform } from "../../../src/oci/platform.ts";
import { installEmulators } from "../../../src/worker/emulation/install.ts";
import { installNameFor } from "../../../src/worker/emulation/names.ts";
import { EmulationDetector } from "../../../src/worker/emulation/runnable.ts";
import { ExecTimeoutError } from "../../../src/worker/executor/errors.ts";
import { RuncExecutor } from "../../../src/worker/executor/executor.ts";
import { ExecFixture, unameOf } from "./fixture.ts";

/**
 * Foreign RUN steps under QEMU through binfmt_misc handlers with the F flag. The test registers missing
 * handlers itself with polyarch's own installEmulators (root, as CI is). Every emulated run has a
 * watchdog: Debian 12's QEMU 7.2 can hang instead of exiting (see the guide).
 */
const watchdog = { timeoutMs: 120_000 };
const foreign: Platform[] = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64" },
  { os: "linux", architecture: "arm", variant: "v7" },
].filter((p) => !samePlatform(p, hostPlatform()));

let fx: ExecFixture;
before(async () => {
  const detector = new EmulationDetector();
  const missing: string[] = [];
  for (const p of foreign) if (!(await detector.canRun(p))) missing.push(installNameFor(p));
  if (missing.length > 0) await installEmulators(missing);
  fx = await ExecFixture.create();
});
after(async () => {
  await fx?.dispose();
});

for (const platform of foreign) {
  const name = formatPlatform(platform);
  test(`${name}: uname -m under emulation prints ${unameOf[name]}`, async () => {
    const r = await fx.sh(platform, "uname -m", {}, watchdog);
    assert.equal(r.stdout, `${unameOf[name]}\n`);
    assert.equal(r.emulated, true);
  });
}

test("emulated steps resolve users and fail with their exit code like native ones", async () => {
  const platform = foreign[0]!;
  const r = await fx.sh(platform, "id -u; cd; pwd", { user: "app" }, watchdog);
  assert.equal(r.stdout, "1000\n/home/app\n");
  await assert.rejects(fx.sh(platform, "exit 7", {}, watchdog), /exit code: 7/);
});

test("a process killed by SIGPIPE under emulation does not hang the step (the pipes are never closed early)", async () => {
  const platform = foreign[0]!;
  const r = await fx.sh(platform, "yes | head -n 3; echo after", {}, watchdog);
  assert.equal(r.stdout, "y\ny\ny\nafter\n");
});

test("the watchdog stops an emulated step and leaves no container behind", async () => {
  await assert.rejects(
    fx.sh(foreign[0]!, "sleep 60", {}, { timeoutMs: 1000 }),
    (e: unknown) => e instanceof ExecTimeoutError && /QEMU/.test(e.hint ?? ""),
  );
  assert.deepEqual(await fx.containers(), []);
});

test("a platform with no emulator fails before anything runs, saying how to fix it", async () => {
  // An executor that sees an empty binfmt_misc, whatever this machine has registered.
  const empty = await mkdtemp(join(fx.dir, "no-binfmt-"));
  const executor = new RuncExecutor({
    stateRoot: join(fx.dir, "state-no-binfmt"),
    emulation: new EmulationDetector({ binfmtDir: empty }),
  });
  const base = await fx.base(foreign[0]!);
  const name = formatPlatform(foreign[0]!);
  await assert.rejects(
    executor.run(base, { args: ["/bin/true"], env: [], platform: foreign[0]! }),
    (e: unknown) =>
      e instanceof UserError &&
      e.message.startsWith(`no emulator for ${name}: binfmt_misc is not mounted`) &&
      e.hint ===
        `run \`polyarch binfmt --install ${installNameFor(foreign[0]!)}\` as root, or install qemu-user-static`,
  );
  await assert.rejects(readdir(join(executor.bundleRoot)), /ENOENT/);
});
