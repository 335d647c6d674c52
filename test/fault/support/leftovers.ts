/**
 * What a build can leave behind on a state root, as seen from the host: runc containers in its runc root,
 * mounts under the state root, container cgroups, runtime bundles. `owners` narrows containers, cgroups
 * and bundles to those named by the given polyarch pids (other tests run builds concurrently).
 */
import { readdir, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { privateDirBases, privateDirPrefixes } from "../../../src/fsutil/private-dir.ts";
import { containerCgroupParents } from "../../../src/worker/executor/leftovers.ts";
import { leftoverPlaces } from "../../../src/worker/local/local-worker.ts";
import { mountsUnder } from "../../../src/worker/snapshot/leftover-mounts.ts";
import { run } from "../../harness/exec.ts";

export interface Leftovers {
  /** Container ids runc lists in the state root's runc root, and state dirs it has there. */
  containers: string[];
  /** Mount points at or below the state root. */
  mounts: string[];
  /** Cgroup directories of polyarch containers. */
  cgroups: string[];
  /** Bundle directories, and the bundle root itself when it is still there. */
  bundles: string[];
  /** Private dirs on /dev/shm or $TMPDIR (secret files, ssh sockets); machine-wide, like cgroups. */
  privateDirs: string[];
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

function ownedBy(owners: readonly number[] | undefined) {
  const prefixes = owners?.map((pid) => `polyarch-${pid.toString(36)}-`);
  return (name: string) =>
    name.startsWith("polyarch-") && (prefixes === undefined || prefixes.some((p) => name.startsWith(p)));
}

export async function stateLeftovers(stateRoot: string, owners?: readonly number[]): Promise<Leftovers> {
  const places = leftoverPlaces(stateRoot);
  const mine = ownedBy(owners);
  const listed = await run("runc", ["--root", places.runcRoot, "list", "-q"]);
  const containers = [
    ...new Set([
      ...listed.stdout.split("\n").filter((id) => id !== "" && mine(id)),
      ...(await names(places.runcRoot)).filter(mine),
    ]),
  ];
  const real = await realpath(stateRoot);
  const mounts = await mountsUnder(real);
  const cgroups: string[] = [];
  for (const parent of await containerCgroupParents())
    for (const n of (await names(parent)).filter(mine)) cgroups.push(join(parent, n));
  const bundleNames = await names(places.bundleRoot);
  const bundles = bundleNames.filter(mine).map((n) => join(places.bundleRoot, n));
  // An empty bundle root must not stay behind either.
  const rootThere = await stat(places.bundleRoot).then(
    (st) => st.isDirectory(),
    () => false,
  );
  if (rootThere && bundleNames.length === 0) bundles.push(places.bundleRoot);
  // Private dirs carry the decimal pid (uniqueSuffix): `polyarch-secret-PID-HEX`.
  const privateDirs: string[] = [];
  for (const dir of privateDirBases())
    for (const n of await names(dir)) {
      const prefix = Object.values(privateDirPrefixes).find((p) => n.startsWith(p));
      if (prefix === undefined) continue;
      const pid = Number(/^(\d+)-/.exec(n.slice(prefix.length))?.[1]);
      if (owners === undefined || owners.includes(pid)) privateDirs.push(join(dir, n));
    }
  return { containers, mounts, cgroups, bundles, privateDirs };
}

export function leftoverCount(l: Leftovers): number {
  return l.containers.length + l.mounts.length + l.cgroups.length + l.bundles.length + l.privateDirs.length;
}

export function noLeftovers(l: Leftovers): boolean {
  return leftoverCount(l) === 0;
}
