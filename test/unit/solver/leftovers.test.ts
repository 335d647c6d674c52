// The sweep every build runs (solver/leftovers.ts): what killed builds left in the solver's dirs goes, what
// a live process (this one) owns stays.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BuildPresence, sweepEveryBuild } from "../../../src/solver/leftovers.ts";

/** A pid that was alive a moment ago and is gone now. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "0"]);
  assert.equal(r.status, 0);
  return r.pid!;
}

test("a killed build's probing marker, written or left empty, is swept by the next build; a live one's stays", async () => {
  const root = await mkdtemp(join(tmpdir(), "polyarch-leftovers-"));
  try {
    const probing = join(root, "probing");
    await mkdir(probing, { recursive: true });
    const dead = deadPid();
    await writeFile(join(probing, `${dead}-0123456789ab`), `${dead}:1:boot\n`);
    await writeFile(join(probing, `${dead}-ba9876543210`), ""); // killed inside writeFile
    const live = new BuildPresence(root);
    await live.announce((d) => mkdir(d, { recursive: true }));
    await live.probing(true);
    await sweepEveryBuild(root, async () => 0);
    const left = await readdir(probing);
    assert.equal(left.length, 1, left.join(", "));
    assert.match(left[0]!, new RegExp(`^${process.pid}-[0-9a-f]{12}$`));
    await live.withdraw();
    assert.deepEqual(await readdir(probing), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
