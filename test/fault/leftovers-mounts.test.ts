// Host mounts a killed build left under the state root (a snapshot of a copy step or a layer-export
// view, the overlay probe) are unmounted by the next build, even a fully cached one that never uses the
// snapshotter; mounts of a live owner stay.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { mountOverlay, unmount } from "../../src/worker/snapshot/mount.ts";
import { pushBusyboxImage } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { polyarch, tempStateRoot } from "../support/cli.ts";
import { stateLeftovers } from "./support/leftovers.ts";

let reg: TestRegistry;
let base: string;
let work: string;

before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
  work = await mkdtemp(join(tmpdir(), "polyarch-fault-mounts-"));
});
after(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A process that ran and is gone: its pid and start time, as polyarch would have named its leftovers. */
function deadProcess(): { pid: number; startTicks: number } {
  const r = spawnSync("sh", ["-c", "echo $$; cut -d' ' -f22 /proc/$$/stat"], { encoding: "utf8" });
  const [pid, start] = r.stdout.trim().split("\n").map(Number);
  return { pid: pid!, startTicks: start! };
}

async function overlayAt(dir: string): Promise<string> {
  const [lower, upper, wk, merged] = ["lower", "upper", "work", "merged"].map((d) => join(dir, d));
  for (const d of [lower!, upper!, wk!, merged!]) await mkdir(d, { recursive: true });
  await writeFile(join(lower!, "f"), "x");
  await mountOverlay([lower!], upper!, wk!, merged!);
  return merged!;
}

test("fault: a dead build's snapshot and probe mounts are gone after the next (fully cached) build; a live one's stay", async (t) => {
  await using state = await tempStateRoot();
  const snapshots = join(state.dir, "solver", "snapshots");
  const dead = deadProcess();
  const live = { pid: process.pid };
  const deadSnapshot = await overlayAt(join(snapshots, "active", `copy-${dead.pid.toString(36)}-1-0badc0de`));
  const deadProbe = await overlayAt(
    join(snapshots, `.overlay-probe-${dead.pid.toString(36)}-${dead.startTicks.toString(36)}-0bad`),
  );
  const liveSnapshot = await overlayAt(join(snapshots, "active", `view-${live.pid.toString(36)}-1-600dc0de`));
  try {
    t.diagnostic(
      `figure: mounts under the state root before the build: ${(await stateLeftovers(state.dir)).mounts.length}`,
    );
    const ctx = join(work, "ctx");
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, "Dockerfile"), `FROM ${base}\nENV NOTHING_TO_RUN=1\n`);
    const r = await polyarch(
      ["build", "--platform", "linux/amd64", "-o", `type=oci,dest=${join(work, "o.tar")}`, ctx],
      {
        env: { POLYARCH_ROOT: state.dir },
      },
    );
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const mounts = (await stateLeftovers(state.dir)).mounts;
    assert.deepEqual(mounts, [liveSnapshot], "only the live owner's mount is left");
    assert.ok(
      !(await readdir(snapshots)).some((n) => n.startsWith(".overlay-probe-")),
      "the dead probe is removed",
    );
    assert.ok(!(await readFile("/proc/self/mountinfo", "utf8")).includes(deadSnapshot));
    assert.ok(!(await readFile("/proc/self/mountinfo", "utf8")).includes(deadProbe));
  } finally {
    for (const m of [deadSnapshot, deadProbe, liveSnapshot]) await unmount(m).catch(() => {});
  }
});
