/**
 * The solver's corner of the state directory (the worker keeps its snapshots and runc state beside it,
 * see worker/local/local-worker.ts).
 *
 * Layout under `<state>/solver/`:
 *   index/        the cache index (cache-index.ts)
 *   locks/        per-key lock files (vertex-lock.ts)
 *   builds/       one file per running build (leftovers.ts: BuildPresence)
 *   cache-mounts/ RUN --mount=type=cache directories, by id
 *   context-index/ the content digests of context files by their stat, per context directory
 *                 (context-stat-index.ts)
 *   lower-links/  which hard links to lower layers each unpacked base layer has (run-image.ts)
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Worker } from "../worker/worker.ts";
import { CacheIndex } from "./cache-index.ts";
import { CreatedTimes } from "./created-times.ts";
import { BuildPresence, referencedSnapshots, sweepEveryBuild } from "./leftovers.ts";
import { lockTimeoutFromEnv, VertexLocks } from "./vertex-lock.ts";

/** The lock a garbage collection holds (under `locks/`); a build starts reading the cache only without it. */
export const collectionLockName = "state-gc";

export interface WorkspaceOptions {
  /** Bound on a wait for another process's lock (default: POLYARCH_LOCK_TIMEOUT, else 30 minutes). */
  lockTimeoutMs?: number;
}

export class Workspace {
  readonly root: string;
  readonly index: CacheIndex;
  readonly locks: VertexLocks;
  readonly times: CreatedTimes;
  readonly #worker: Worker;
  readonly #presence: BuildPresence;
  #sweep: Promise<unknown> | undefined;

  constructor(stateRoot: string, worker: Worker, options: WorkspaceOptions = {}) {
    this.root = join(stateRoot, "solver");
    this.index = new CacheIndex(this.root);
    this.times = new CreatedTimes(this.root);
    const timeoutMs = options.lockTimeoutMs ?? lockTimeoutFromEnv();
    this.locks = new VertexLocks(join(this.root, "locks"), timeoutMs === undefined ? {} : { timeoutMs });
    this.#worker = worker;
    this.#presence = new BuildPresence(this.root);
  }

  /**
   * A build begins: it announces itself (before it reads any cache record) and sweeps, meanwhile, what
   * killed builds left (leftovers.ts).
   */
  async begin(): Promise<void> {
    await this.#presence.announce((dir) => mkdir(dir, { recursive: true }));
    await this.#waitForCollection();
    this.#sweep ??= Promise.all([
      sweepEveryBuild(this.root, () => this.locks.sweep()),
      this.#presence.alone(),
    ]).catch(() => 0);
  }

  /**
   * Marks the build as probing, then makes sure no garbage collection runs: one that holds the collection
   * lock waits for probing builds, so a build that finds the lock taken stops probing and waits for it
   * (see store-gc.ts for the whole protocol).
   */
  async #waitForCollection(): Promise<void> {
    for (;;) {
      await this.#presence.probing(true);
      const free = await this.locks.tryAcquire(collectionLockName);
      if (free) {
        await free.release();
        return;
      }
      await this.#presence.probing(false);
      const lock = await this.locks.acquire(collectionLockName, { label: "a garbage collection" });
      await lock.release();
    }
  }

  /** The build has read the cache index: a garbage collection may now run beside it. */
  async probed(): Promise<void> {
    await this.#presence.probing(false);
  }

  /**
   * A build ends; one that ran steps also has the worker remove step results that no cache record names
   * any more, made by processes that are gone — only when no other build on the state dir is alive (a
   * live build may still be using a result whose record another build replaced).
   */
  async finish(ranSteps: boolean): Promise<void> {
    try {
      await this.#sweep;
      if (ranSteps) {
        const began = Date.now();
        if (await this.#presence.alone()) {
          const used = await referencedSnapshots(this.root);
          await this.#worker.removeDeadResults(used, began).catch(() => 0);
        }
      }
    } finally {
      this.#sweep = undefined;
      await this.#presence.withdraw();
    }
  }
}
