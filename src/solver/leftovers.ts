/**
 * What killed builds leave in the solver's corner of the state dir, and how later builds remove it.
 * Everything swept here is an orphan by construction: its name or content says which process made it, and
 * that process is gone (fsutil/orphans.ts); nothing of a live process is touched.
 *
 *  - every build (cheap: a few readdirs): stale locks and lock temp files, index temp files
 *    (`KEY.json.tmp-PID-HEX`), cache-mount staging dirs (`HEX.new-PID-HEX`), what a killed garbage
 *    collection was deleting (`gc-trash/NAME.PID-HEX`);
 *    (`KEY.json.tmp-PID-HEX`, the cache index's and the context stat index's), cache-mount staging dirs
 *    (`HEX.new-PID-HEX`);
 *  - a build that ran steps: the worker's step results that no cache record names any more (a --no-cache
 *    build replaces the record, a kill may come before the record) and whose process is gone
 *    (Worker.removeDeadResults). A live build may still be using a result whose record another build
 *    replaced, so this sweep runs only when no other build on the state dir is alive (see BuildPresence).
 */
import { mkdir, readdir, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
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
    // What a killed garbage collection was deleting (store-gc.ts): renamed aside, so no record names it.
    sweepOrphanedTemps(join(solverRoot, "gc-trash"), () => true),
    sweepOrphanedTemps(join(solverRoot, "context-index"), (n) => n.includes(".tmp-")),
    // A killed build's "reading the cache" marker (BuildPresence.probing), which only a collection's
    // liveBuilds() would otherwise clear, and never when the kill left it empty.
    sweepOrphanedTemps(join(solverRoot, "probing"), () => true),
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
    await this.probing(false);
    if (!this.#written) return;
    this.#written = undefined;
    await unlink(this.#path).catch(() => {});
  }

  /**
   * Marks this build as reading the cache index (probing) or done with it: a garbage collection waits
   * until no live build is probing, so every record a build uses is touched (and so pinned, see
   * store-gc.ts) before the collection looks at the records.
   */
  async probing(on: boolean): Promise<void> {
    const marker = join(this.#dir, "..", "probing", this.#path.slice(this.#dir.length + 1));
    if (on) {
      await mkdir(join(marker, ".."), { recursive: true });
      await writeFile(marker, `${selfIdentity()}\n`, { mode: 0o644 });
    } else await unlink(marker).catch(() => {});
  }

  /** True when no other live build has announced itself; removes the files of dead ones. */
  async alone(): Promise<boolean> {
    let alone = true;
    for (const n of await names(this.#dir)) {
      const path = join(this.#dir, n);
      if (path === this.#path) continue;
      let owner: string;
      try {
        owner = (await readFile(path, "utf8")).split("\n")[0]!.trim();
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

/** A build that is alive on the state dir: when it announced itself, and whether it is probing. */
export interface LiveBuild {
  announcedMs: number;
  probing: boolean;
  pid: number | undefined;
}

/** The live builds on the state dir other than this process's (see BuildPresence). */
export async function liveBuilds(solverRoot: string): Promise<LiveBuild[]> {
  const out: LiveBuild[] = [];
  const probingDir = join(solverRoot, "probing");
  const probing = new Set<string>();
  for (const n of await names(probingDir)) {
    const owner = await readFile(join(probingDir, n), "utf8").then(
      (t) => t.trim(),
      () => "",
    );
    if (owner !== "" && identityAlive(owner)) probing.add(n);
    else if (owner !== "") await unlink(join(probingDir, n)).catch(() => {});
  }
  const dir = join(solverRoot, "builds");
  for (const n of await names(dir)) {
    try {
      const path = join(dir, n);
      const owner = (await readFile(path, "utf8")).split("\n")[0]!.trim();
      const pid = Number(owner.split(":")[0]);
      if (pid === process.pid) continue;
      // An empty file is one being written (its build counts as alive and probing), unless it is a leftover.
      if (owner === "" && (await orphanedTemp(path, n))) continue;
      if (owner === "" || identityAlive(owner))
        out.push({
          announcedMs: (await stat(path)).mtimeMs,
          probing: owner === "" || probing.has(n),
          pid: Number.isSafeInteger(pid) ? pid : undefined,
        });
    } catch {
      // Withdrawn meanwhile.
    }
  }
  return out;
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
