/**
 * Before a build starts — every build, a fully cached one too — what builds that died on this state root
 * left behind is removed: their runc containers first (an orphaned emulated step may still be running
 * and must not have its snapshot taken away under it), then their cgroups, host mounts and runtime
 * bundles. Only leftovers whose owner is dead are touched (worker/process-owner.ts); the usual case,
 * nothing left, costs a few directory reads and one read of /proc/self/mountinfo.
 */
import { realpath } from "node:fs/promises";
import { join } from "node:path";
import { defaultBundleRoot } from "../worker/executor/bundle-root.ts";
import { reapDeadBundles, reapDeadCgroups, reapDeadContainers } from "../worker/executor/leftovers.ts";
import { reapDeadMounts } from "../worker/snapshot/leftover-mounts.ts";

/** The solver's state directories, as workspace.ts lays them out under `<state>/solver`. */
export function leftoverPlaces(stateRoot: string) {
  const solver = join(stateRoot, "solver");
  const exec = join(solver, "exec");
  return {
    runcRoot: join(exec, "runc"),
    bundleRoot: defaultBundleRoot(exec),
    snapshots: join(solver, "snapshots"),
  };
}

export async function removeDeadLeftovers(stateRoot: string, runcBinary = "runc"): Promise<void> {
  const places = leftoverPlaces(stateRoot);
  await reapDeadContainers({ binary: runcBinary, stateDir: places.runcRoot });
  // Also those of containers whose runc state never got written (killed in `runc run`'s first moments).
  await reapDeadCgroups();
  // mountinfo names mount points by their real path.
  const snapshots = await realpath(places.snapshots).catch(() => undefined);
  if (snapshots) await reapDeadMounts(snapshots);
  await reapDeadBundles(places.bundleRoot);
}
