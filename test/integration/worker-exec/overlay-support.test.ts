// Whether overlay mounts work is probed once per state dir, boot, mount namespace and file system, and
// remembered in the snapshot root: a later build reads the answer instead of mounting a probe.
import assert from "node:assert/strict";
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createSnapshotter, overlaySupport } from "../../../src/worker/snapshot/create.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-overlay-support-"));
});
after(() => rm(dir, { recursive: true, force: true }));

async function circumstances(root: string): Promise<string> {
  const boot = (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
  return `${boot} ${await readlink("/proc/self/ns/mnt")} ${(await lstat(root)).dev}`;
}

test("the probe's answer is stored, and a stored answer for these circumstances is believed", async () => {
  const probed = join(dir, "probed");
  await mkdir(probed);
  const first = await overlaySupport(probed);
  const stamp = JSON.parse(await readFile(join(probed, "overlay-support.json"), "utf8"));
  assert.deepEqual(stamp, { circumstances: await circumstances(probed), ...first });

  // A stored "does not work" for this very boot, namespace and file system: no probe, the copy snapshotter.
  const told = join(dir, "told");
  await mkdir(told);
  await writeFile(
    join(told, "overlay-support.json"),
    JSON.stringify({ circumstances: await circumstances(told), works: false, volatile: false }),
  );
  assert.equal((await createSnapshotter(told)).kind, "copy");
});

test("a stored answer from another boot, or one that does not parse, is probed again", async () => {
  const truth = await overlaySupport(join(dir, "probed"));
  for (const [name, text] of [
    ["stale", JSON.stringify({ circumstances: "another-boot ns 1", works: !truth.works, volatile: false })],
    ["torn", '{"circumstances": "'],
    ["odd", JSON.stringify({ circumstances: "x", works: "yes" })],
  ] as const) {
    const root = join(dir, name);
    await mkdir(root);
    await writeFile(join(root, "overlay-support.json"), text);
    assert.deepEqual(await overlaySupport(root), truth, name);
    const stamp = JSON.parse(await readFile(join(root, "overlay-support.json"), "utf8"));
    assert.equal(stamp.circumstances, await circumstances(root), `${name}: replaced by the probe's answer`);
  }
});
