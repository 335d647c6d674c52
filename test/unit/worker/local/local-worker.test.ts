// The local worker's platforms: the machine's own natively, and those a usable binfmt_misc handler adds
// under emulation; a platform it cannot run is a user error that says how to fix it.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { UserError } from "../../../../src/errors/user-error.ts";
import { hostPlatform, samePlatform } from "../../../../src/oci/platform.ts";
import { LocalWorker } from "../../../../src/worker/local/local-worker.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-local-worker-"));
});
after(() => rm(dir, { recursive: true, force: true }));

describe("the local worker's platforms", () => {
  test("without binfmt handlers it runs the host platform natively and nothing emulated", async () => {
    const worker = new LocalWorker({ stateRoot: join(dir, "state"), binfmtDir: join(dir, "no-binfmt") });
    const { native, emulated } = await worker.platforms();
    assert.ok(native.some((p) => samePlatform(p, hostPlatform())));
    assert.deepEqual(emulated, []);
    assert.deepEqual(await worker.checkPlatform(hostPlatform()), { emulated: false });
    const foreign = hostPlatform().architecture === "s390x" ? "riscv64" : "s390x";
    await assert.rejects(
      worker.checkPlatform({ os: "linux", architecture: foreign }),
      (e: unknown) => e instanceof UserError && /s390x|riscv64/.test(e.message),
    );
  });

  test("with this machine's handlers, emulated platforms are listed apart from native ones", async () => {
    const worker = new LocalWorker({ stateRoot: join(dir, "state") });
    const { native, emulated } = await worker.platforms();
    for (const p of emulated) assert.ok(!native.some((n) => samePlatform(n, p)));
    for (const p of emulated) assert.deepEqual(await worker.checkPlatform(p), { emulated: true });
  });
});
