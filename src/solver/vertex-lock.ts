/**
 * One process at a time works on a cache key: a lock file `KEY.lock` made with O_EXCL holds the owner's
 * pid. Another process that wants the same key waits for the file to go, then looks in the cache index
 * again (where it usually finds the result). A lock whose owner died (kill -9, power loss) is taken over.
 *
 * This only saves duplicate work; correctness never depends on it (results are committed under unique
 * names and recorded atomically). In the rare race where two processes take over the same stale lock,
 * both do the work and the last record wins.
 */
import { mkdir, open, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** True while a process with this pid exists (EPERM: it exists but is not ours). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class VertexLocks {
  readonly #dir: string;
  #made: Promise<unknown> | undefined;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /**
   * Takes the lock of `name` when nobody alive holds it (this process included); undefined otherwise. A
   * lock left by a dead process is taken over.
   */
  async tryAcquire(name: string): Promise<{ release: () => Promise<void> } | undefined> {
    this.#made ??= mkdir(this.#dir, { recursive: true });
    await this.#made;
    const path = join(this.#dir, `${name}.lock`);
    for (let attempt = 0; attempt < 2; attempt++) {
      const taken = await this.#create(path);
      if (taken) return taken;
      const owner = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && !alive(owner))
        await unlink(path).catch(() => {});
      else return undefined;
    }
    return undefined;
  }

  async #create(path: string): Promise<{ release: () => Promise<void> } | undefined> {
    try {
      const handle = await open(path, "wx", 0o644);
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return undefined;
      throw e;
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        await unlink(path).catch(() => {});
      },
    };
  }

  /**
   * Takes the lock of `name`; resolves to its release. `waited` is true when another process held it, so
   * the caller should look for its result before doing the work itself.
   */
  async acquire(
    name: string,
    signal?: AbortSignal,
  ): Promise<{ release: () => Promise<void>; waited: boolean }> {
    this.#made ??= mkdir(this.#dir, { recursive: true });
    await this.#made;
    const path = join(this.#dir, `${name}.lock`);
    let waited = false;
    for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
      signal?.throwIfAborted();
      const taken = await this.#create(path);
      if (taken) return { ...taken, waited };
      const owner = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && !alive(owner)) {
        await unlink(path).catch(() => {});
        continue;
      }
      waited = true;
      await sleep(delay, undefined, signal ? { signal } : {});
    }
  }
}
