/**
 * What killed builds leave in the solver's corner of the state dir, and how later builds remove it.
 * Everything swept here is an orphan by construction: its name or content says which process made it, and
 * that process is gone (fsutil/orphans.ts); nothing of a live process is touched.
 *
 *  - every build (cheap: a few readdirs): stale locks and lock temp files, index temp files
 *    (`KEY.json.tmp-PID-HEX`, the cache index's and the context stat index's), cache-mount staging dirs
 *    (`HEX.new-PID-HEX`);
 *  - a build that ran steps: the worker's step results that no cache record names any more (a --no-cache
 *    build replaces the record, a kill may come before the record) and whose process is gone
 *    (Worker.removeDeadResults). A live build may still be using a result whose record another build
 *    replaced, so this sweep runs only when no other build on the state dir is alive (see BuildPresence).
 */
import { readdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { uniqueSuffix } from "../fsutil/atomic-file.ts";
import { orphanedTemp } from "../fsutil/orphans.ts";
import { reapPrivateDirs } from "../fsutil/private-dir.ts";
import { identityAlive, selfIdentity } from "../fsutil/process-identity.ts";
import { reapDeadTemp } from "./private-temp.ts";

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** Removes the entries of `dir` that are temp files or dirs of processes that are gone. */
export async function sweepOrphanedTemps(dir: string, isTemp: (name: string) => boolean): Promise<number> {
  let removed = 0;
  for (const n of await names(dir)) {
    const path = join(dir, n);
    if (!isTemp(n) || !(await orphanedTemp(path, n))) continue;
    await rm(path, { recursive: true, force: true }).then(
      () => removed++,
      () => {},
    );
  }
  return removed;
}

/** The cheap sweep every build runs (see the module comment); never fails the build. */
export async function sweepEveryBuild(
  solverRoot: string,
  sweepLocks: () => Promise<number>,
): Promise<number> {
  const counts = await Promise.all([
    sweepLocks(),
    sweepOrphanedTemps(join(solverRoot, "index", "chains"), (n) => n.includes(".tmp-")),
    sweepOrphanedTemps(join(solverRoot, "index", "layers"), (n) => n.includes(".tmp-")),
    sweepOrphanedTemps(join(solverRoot, "cache-mounts"), (n) => n.includes(".new-")),
    sweepOrphanedTemps(join(solverRoot, "context-index"), (n) => n.includes(".tmp-")),
  ]).catch(() => [0]);
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * One file per running build under `solver/builds/`, holding its process identity: how a build knows
 * whether it is alone on the state dir. A killed build's file names a process that is gone.
 */
export class BuildPresence {
  readonly #dir: string;
  readonly #path: string;
  #written: Promise<void> | undefined;

  constructor(solverRoot: string) {
    this.#dir = join(solverRoot, "builds");
    this.#path = join(this.#dir, uniqueSuffix());
  }

  /** Announces this build (idempotent). Must come before the build reads any cache record. */
  announce(mkdirp: (dir: string) => Promise<unknown>): Promise<void> {
    this.#written ??= (async () => {
      await mkdirp(this.#dir);
      await writeFile(this.#path, `${selfIdentity()}\n`, { mode: 0o644 });
    })();
    return this.#written;
  }

  async withdraw(): Promise<void> {
    if (!this.#written) return;
    this.#written = undefined;
    await unlink(this.#path).catch(() => {});
  }

  /** True when no other live build has announced itself; removes the files of dead ones. */
  async alone(): Promise<boolean> {
    let alone = true;
    for (const n of await names(this.#dir)) {
      const path = join(this.#dir, n);
      if (path === this.#path) continue;
      let owner: string;
      try {
        owner = (await readFile(path, "utf8")).trim();
      } catch {
        continue;
      }
      // An empty file is one being written (writeFile is not atomic) unless it is old.
      if (owner === "" && !(await orphanedTemp(path, n))) alone = false;
      else if (owner !== "" && identityAlive(owner)) alone = false;
      else await unlink(path).catch(() => {});
    }
    return alone;
  }
}

/** Every snapshot name a chain record under `index/chains` names (what the worker must keep). */
export async function referencedSnapshots(solverRoot: string): Promise<Set<string>> {
  const dir = join(solverRoot, "index", "chains");
  const used = new Set<string>();
  for (const n of await names(dir)) {
    if (!n.endsWith(".json")) continue;
    try {
      const rec = JSON.parse(await readFile(join(dir, n), "utf8")) as { chain?: unknown };
      if (Array.isArray(rec.chain)) for (const d of rec.chain) if (typeof d === "string") used.add(d);
    } catch {
      // Unreadable: names nothing (records are written atomically, so this is outside damage).
    }
  }
  return used;
}

/**
 * What killed builds left outside the worker, removed before every build: their private temp files, secret
 * files and agent sockets (on /dev/shm or $TMPDIR), and export scratch trees (`<state>/tmp/rootfs-PID-…`).
 * The worker removes its own (containers, mounts, bundles: Worker.removeDeadLeftovers).
 */
export async function removeDeadBuildLeftovers(stateRoot: string): Promise<void> {
  await reapDeadTemp(stateRoot);
  await reapPrivateDirs();
  await sweepOrphanedTemps(join(stateRoot, "tmp"), (n) => n.startsWith("rootfs-"));
}
