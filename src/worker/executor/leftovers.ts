import { readdir, readFile, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { ownerAlive, ownerFromName } from "../process-owner.ts";
import { unescapeMountPath } from "../snapshot/leftover-mounts.ts";
import { type RuncConfig, runcDeleteForce } from "./runc.ts";

/**
 * What a build that died without cleaning up (kill -9, OOM, power loss) leaves of its RUN steps: runc
 * containers (maybe still running: an emulated step goes on without its `runc run`), their cgroups, and
 * runtime bundles on /dev/shm. Their names carry the owner (see process-owner.ts); only those of a dead
 * owner are removed, since other builds on the same state root may be running.
 */

const prefix = "polyarch-";

function deadOwner(name: string): boolean {
  const owner = ownerFromName(name, prefix);
  return owner !== undefined && !ownerAlive(owner);
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** Kills and deletes the dead builds' containers; returns their ids. Cheap when there are none. */
export async function reapDeadContainers(runc: RuncConfig): Promise<string[]> {
  const dead = (await names(runc.stateDir)).filter(deadOwner);
  for (const id of dead) {
    // delete --force kills a container still running and removes its cgroups and state.
    await runcDeleteForce(runc, id);
    // A state runc could not read (killed while writing it) would stay forever otherwise.
    await rm(join(runc.stateDir, id), { recursive: true, force: true });
  }
  return dead;
}

/** Removes the dead builds' bundles, then the root itself if that left it empty. */
export async function reapDeadBundles(bundleRoot: string): Promise<void> {
  const all = await names(bundleRoot);
  const dead = all.filter(deadOwner);
  for (const id of dead) await rm(join(bundleRoot, id), { recursive: true, force: true });
  if (all.length === dead.length) await rmdir(bundleRoot).catch(() => {});
}

/**
 * The cgroup directories containers of this process's cgroup get (runc puts one per hierarchy below
 * the cgroup it runs in, named by the container id when the spec names none).
 */
export async function containerCgroupParents(mountTable?: string): Promise<string[]> {
  let self: string;
  let mountinfo: string;
  try {
    [self, mountinfo] = await Promise.all([
      readFile("/proc/self/cgroup", "utf8"),
      mountTable ?? readFile("/proc/self/mountinfo", "utf8"),
    ]);
  } catch {
    return [];
  }
  const mounts = mountinfo.split("\n").flatMap((line) => {
    const [left, right] = line.split(" - ");
    if (!left || !right) return [];
    const [fstype, , superOptions = ""] = right.split(" ");
    if (fstype !== "cgroup" && fstype !== "cgroup2") return [];
    return [{ fstype, point: unescapeMountPath(left.split(" ")[4] ?? ""), options: superOptions.split(",") }];
  });
  const out = new Set<string>();
  for (const line of self.split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const controllers = m[1] === "" ? [] : m[1]!.split(",");
    const mount = mounts.find((x) =>
      controllers.length === 0
        ? x.fstype === "cgroup2"
        : x.fstype === "cgroup" && controllers.every((c) => x.options.includes(c)),
    );
    if (mount) out.add(join(mount.point, m[2]!));
  }
  return [...out];
}

/** Removes the (empty) cgroups of dead builds' containers that runc did not remove. */
export async function reapDeadCgroups(mountTable?: string): Promise<void> {
  for (const parent of await containerCgroupParents(mountTable)) {
    for (const name of (await names(parent)).filter(deadOwner)) {
      await rmdir(join(parent, name)).catch(() => {
        // Still has processes (then its container is alive after all) or already gone.
      });
    }
  }
}
