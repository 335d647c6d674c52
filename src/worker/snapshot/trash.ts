import { randomBytes } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";

/**
 * Deleting a directory tree costs a syscall per entry; a RUN step should not wait for it. discard()
 * renames the tree out of the way at once (atomic, same filesystem) and deletes it in the background,
 * one tree at a time. A crash leaves the trash dir behind, and the next discard's sweep empties it.
 */
export class Trash {
  readonly #dir: string;
  #queue: Promise<void> = Promise.resolve();
  #ready: Promise<void> | undefined;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async discard(path: string): Promise<void> {
    this.#ready ??= mkdir(this.#dir, { recursive: true }).then(() => {});
    await this.#ready;
    const target = join(this.#dir, randomBytes(8).toString("hex"));
    try {
      await rename(path, target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    this.#queue = this.#queue.then(() => rm(target, { recursive: true, force: true })).catch(() => {});
  }

  /** Waits until everything discarded so far is gone, and sweeps what an earlier process left. */
  async drain(): Promise<void> {
    await this.#queue;
    await rm(this.#dir, { recursive: true, force: true });
    this.#ready = undefined;
  }
}
