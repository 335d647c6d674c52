import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, rename, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { uniqueSuffix } from "../../fsutil/atomic-file.ts";
import { orphanedTemp } from "../../fsutil/orphans.ts";

/**
 * Deleting a directory tree costs a syscall per entry; a RUN step should not wait for it. discard()
 * renames the tree out of the way at once (atomic, same filesystem) and deletes it in the background,
 * one tree at a time.
 *
 * Every Trash has its own directory under the shared root (`trash/PID-HEX`): processes on one state dir
 * never rename into a directory another one is deleting. A killed process leaves its directory behind;
 * the next drain of any process removes the directories of processes that are gone.
 */
export class Trash {
  readonly #root: string;
  readonly #dir: string;
  #queue: Promise<void> = Promise.resolve();
  #ready: Promise<void> | undefined;
  #inFlight = 0;

  constructor(root: string) {
    this.#root = root;
    this.#dir = join(root, uniqueSuffix());
  }

  async discard(path: string): Promise<void> {
    const target = join(this.#dir, randomBytes(8).toString("hex"));
    this.#inFlight++;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          this.#ready ??= mkdir(this.#dir, { recursive: true, mode: 0o700 }).then(() => {});
          await this.#ready;
          await rename(path, target);
          break;
        } catch (e) {
          this.#ready = undefined;
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
          if (!(await exists(path))) return; // nothing to discard
          // Our directory went (a drain removed it as we renamed): make it again. Never give up silently,
          // which would leave `path` where it is.
          if (attempt >= 3) throw e;
        }
      }
      this.#queue = this.#queue.then(() => rm(target, { recursive: true, force: true })).catch(() => {});
    } finally {
      this.#inFlight--;
    }
  }

  /** Waits until everything discarded so far is gone, and removes what dead processes left. */
  async drain(): Promise<void> {
    await this.#queue;
    if (this.#inFlight === 0) {
      this.#ready = undefined;
      // Not recursive: a discard racing this drain either renamed first (rmdir fails, the entry is
      // deleted by its queued rm) or finds the dir gone and makes it again.
      await rmdir(this.#dir).catch(() => {});
    }
    let names: string[];
    try {
      names = await readdir(this.#root);
    } catch {
      return;
    }
    for (const name of names) {
      const dir = join(this.#root, name);
      if (dir === this.#dir || !(await orphanedTemp(dir, name, Number.POSITIVE_INFINITY))) continue;
      // Another drain may be removing it too: what one leaves, the other (or the next) removes.
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
