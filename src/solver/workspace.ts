/**
 * The solver's corner of the state directory, and the worker parts it runs on, made only when a build
 * has work to do (a fully cached build never creates a snapshotter or an executor, never starts runc).
 *
 * Layout under `<state>/solver/`:
 *   index/        the cache index (cache-index.ts)
 *   dirs/NAME     layer directories (overlay upper format) that cache entries name; never changed once
 *                 there. Content-addressed names (`diff-…` base layers, `local-…` contexts) are shared
 *                 by every build and platform; step results get unique names.
 *   snapshots/    the snapshotter's working area (mounts, uncommitted uppers, trash)
 *   exec/         runc state (the per-step bundles live on /dev/shm: see worker/executor)
 *   locks/        per-key lock files (vertex-lock.ts)
 *   builds/       one file per running build (leftovers.ts: BuildPresence)
 *   cache-mounts/ RUN --mount=type=cache directories, by id
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { orphanedTemp } from "../fsutil/orphans.ts";
import { pidOwnerGone } from "../fsutil/process-identity.ts";
import type { RuncExecutor } from "../worker/executor/executor.ts";
import type { Snapshotter, SnapshotterMode } from "../worker/snapshot/index.ts";
import { CacheIndex } from "./cache-index.ts";
import { BuildPresence, sweepEveryBuild, sweepUnreferencedDirs } from "./leftovers.ts";
import { lockTimeoutFromEnv, VertexLocks } from "./vertex-lock.ts";

/** A read-only (or throwaway writable) view of a chain of layer directories. */
export interface ChainView {
  root: string;
  release(): Promise<void>;
}

export interface WorkspaceOptions {
  snapshotter?: SnapshotterMode;
  binfmtDir?: string;
  /** Bound on a wait for another process's lock (default: POLYARCH_LOCK_TIMEOUT, else 30 minutes). */
  lockTimeoutMs?: number;
}

export class Workspace {
  readonly root: string;
  readonly index: CacheIndex;
  readonly locks: VertexLocks;
  readonly #options: WorkspaceOptions;
  readonly #presence: BuildPresence;
  #sweep: Promise<unknown> | undefined;
  #snapshotter: Promise<Snapshotter> | undefined;
  #executor: Promise<RuncExecutor> | undefined;
  #dirsMade: Promise<unknown> | undefined;
  #empty: Promise<string> | undefined;
  #seq = 0;

  constructor(stateRoot: string, options: WorkspaceOptions = {}) {
    this.root = join(stateRoot, "solver");
    this.index = new CacheIndex(this.root);
    const timeoutMs = options.lockTimeoutMs ?? lockTimeoutFromEnv();
    this.locks = new VertexLocks(join(this.root, "locks"), timeoutMs === undefined ? {} : { timeoutMs });
    this.#options = options;
    this.#presence = new BuildPresence(this.root);
  }

  /**
   * A build begins: it announces itself (before it reads any cache record) and sweeps, meanwhile, what
   * killed builds left (leftovers.ts).
   */
  async begin(): Promise<void> {
    await this.#presence.announce((dir) => mkdir(dir, { recursive: true }));
    this.#sweep ??= Promise.all([
      sweepEveryBuild(this.root, () => this.locks.sweep()),
      this.#presence.alone(),
      this.#sweepSnapshots(),
    ]).catch(() => 0);
  }

  /**
   * Snapshots and trash a killed build left: the snapshotter (made only for this, when there are any)
   * unmounts and removes them, so a build that finds everything cached still leaves a clean state dir.
   */
  async #sweepSnapshots(): Promise<void> {
    const snapshots = join(this.root, "snapshots");
    const trash = join(snapshots, "trash");
    let deadTrash = false;
    for (const n of await readdir(trash).catch(() => [] as string[]))
      if (await orphanedTemp(join(trash, n), n, Number.POSITIVE_INFINITY)) deadTrash = true;
    // (Overlay probes a kill interrupted are removed before the build, by runtime-leftovers.ts.)
    if (!deadTrash && (await abandonedKeys(snapshots)).size === 0) return;
    await this.snapshotter();
    await this.settle();
  }

  /** A build ends; one that ran steps also removes step results nothing names any more. */
  async finish(ranSteps: boolean): Promise<void> {
    try {
      await this.#sweep;
      if (ranSteps) await sweepUnreferencedDirs(this.root, this.#presence).catch(() => 0);
    } finally {
      this.#sweep = undefined;
      await this.#presence.withdraw();
    }
  }

  get usedSnapshotter(): boolean {
    return this.#snapshotter !== undefined;
  }

  snapshotter(): Promise<Snapshotter> {
    this.#snapshotter ??= import("../worker/snapshot/create.ts").then(async (m) => {
      const snapshotter = await m.createSnapshotter(
        join(this.root, "snapshots"),
        this.#options.snapshotter ?? "auto",
      );
      await reapAbandoned(snapshotter, join(this.root, "snapshots"));
      return snapshotter;
    });
    return this.#snapshotter;
  }

  executor(): Promise<RuncExecutor> {
    this.#executor ??= Promise.all([
      import("../worker/executor/executor.ts"),
      import("../worker/emulation/runnable.ts"),
    ]).then(
      ([ex, em]) =>
        new ex.RuncExecutor({
          stateRoot: join(this.root, "exec"),
          emulation: new em.EmulationDetector(
            this.#options.binfmtDir === undefined ? {} : { binfmtDir: this.#options.binfmtDir },
          ),
        }),
    );
    return this.#executor;
  }

  /** Where runc keeps this workspace's containers (`runc --root`), for checks and clean-up. */
  get runcRoot(): string {
    return join(this.root, "exec", "runc");
  }

  /** A snapshot key no other process or call uses; it names the process (see reapAbandoned). */
  newKey(prefix: string): string {
    return `${prefix}-${process.pid.toString(36)}-${(++this.#seq).toString(36)}-${randomBytes(4).toString("hex")}`;
  }

  dirPath(name: string): string {
    return this.index.dirPath(name);
  }

  async exists(name: string): Promise<boolean> {
    try {
      return (await stat(this.dirPath(name))).isDirectory();
    } catch {
      return false;
    }
  }

  /**
   * Moves a committed layer directory to `dirs/NAME`. For a shared (content-addressed) name another
   * process may have put an equal directory there first: theirs is kept and ours discarded.
   */
  async adopt(committed: string, name: string, shared: boolean): Promise<string> {
    this.#dirsMade ??= mkdir(this.index.dirsRoot, { recursive: true });
    await this.#dirsMade;
    const target = this.dirPath(name);
    if (shared && (await this.exists(name))) {
      await rm(committed, { recursive: true, force: true });
      return name;
    }
    try {
      await rename(committed, target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!shared || (code !== "ENOTEMPTY" && code !== "EEXIST")) throw e;
      await rm(committed, { recursive: true, force: true });
    }
    return name;
  }

  /**
   * Makes a new shared layer directory `dirs/NAME` from nothing: `fill` writes into a fresh snapshot, which is
   * committed and adopted under NAME; on failure the snapshot is dropped and nothing is recorded.
   */
  async fillNewDir(prefix: string, name: string, fill: (root: string) => Promise<void>): Promise<void> {
    const snapshotter = await this.snapshotter();
    const key = this.newKey(prefix);
    const snap = await snapshotter.prepare(key, []);
    let committed = false;
    try {
      await fill(snap.rootfs);
      await snap.release();
      const dir = await snapshotter.commit(key);
      committed = true;
      await this.adopt(dir, name, true);
    } finally {
      if (!committed) {
        await snap.release().catch(() => {});
        await snapshotter.remove(key).catch(() => {});
      }
    }
  }

  /** An empty directory, for views of an empty chain. */
  #emptyDir(): Promise<string> {
    this.#empty ??= (async () => {
      const dir = join(this.root, "empty");
      await mkdir(dir, { recursive: true, mode: 0o755 });
      return dir;
    })();
    return this.#empty;
  }

  /**
   * The files of a chain as one tree. Read-only views of zero or one directory need no mount; anything
   * else is a snapshot (an overlay mount, or a copy) that `release` unmounts and deletes. A writable
   * view is always a fresh snapshot, so writes never reach a cached directory.
   */
  async view(chain: readonly string[], writable = false): Promise<ChainView> {
    if (!writable && chain.length === 0) return { root: await this.#emptyDir(), release: async () => {} };
    if (!writable && chain.length === 1) return { root: this.dirPath(chain[0]!), release: async () => {} };
    const snapshotter = await this.snapshotter();
    const key = this.newKey("view");
    const snap = await snapshotter.prepare(
      key,
      chain.map((n) => this.dirPath(n)),
    );
    let released = false;
    return {
      root: snap.rootfs,
      release: async () => {
        if (released) return;
        released = true;
        await snap.release();
        await snapshotter.remove(key);
      },
    };
  }

  /** Waits for background deletions of this build's snapshots. */
  async settle(): Promise<void> {
    if (this.#snapshotter) await (await this.#snapshotter).settle();
  }
}

/**
 * Snapshots left open (`active/KEY`) or committed and not adopted (`layers/KEY`) by a process that died
 * without cleaning up (kill -9, a crash): their keys name the process (`run-PID36-…`), so the next build
 * that uses the snapshotter unmounts and removes the ones whose process is gone. Ctrl-C needs none of
 * this: the build cleans up before it exits.
 */
async function reapAbandoned(snapshotter: Snapshotter, snapshotsDir: string): Promise<void> {
  for (const key of await abandonedKeys(snapshotsDir)) await snapshotter.remove(key).catch(() => {});
}

async function abandonedKeys(snapshotsDir: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const sub of ["active", "layers"]) {
    let names: string[];
    try {
      names = await readdir(join(snapshotsDir, sub));
    } catch {
      continue;
    }
    for (const key of names) {
      const m = /^[a-z]+-([0-9a-z]+)-/.exec(key);
      const pid = m ? Number.parseInt(m[1]!, 36) : Number.NaN;
      if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) continue;
      // The directory's mtime is never earlier than its making: a pid now used by a later process is gone.
      const madeAt = await lstat(join(snapshotsDir, sub, key)).then(
        (st) => st.mtimeMs,
        () => undefined,
      );
      if (madeAt !== undefined && pidOwnerGone(pid, madeAt)) keys.add(key);
    }
  }
  return keys;
}
