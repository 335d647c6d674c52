import { randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";

/** A name no other process or call will pick, for temp files next to their final place. */
export function uniqueSuffix(): string {
  return `${process.pid}-${randomBytes(6).toString("hex")}`;
}

async function syncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Group commit of directory syncs: callers that ask while a sync of the same directory is under way share
 * the one that starts when it ends. Each caller still returns only after a sync that began after it asked
 * (so after its own rename), which is all durability needs; N renames that land together cost two fsyncs
 * instead of N (two platforms committing their records at once, a batch of blobs, a pair of refs).
 */
class DirSync {
  #running = false;
  #waiting: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  readonly #path: string;
  readonly #idle: () => void;

  constructor(path: string, idle: () => void) {
    this.#path = path;
    this.#idle = idle;
  }

  request(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      if (!this.#running) void this.#run();
    });
  }

  async #run(): Promise<void> {
    this.#running = true;
    while (this.#waiting.length > 0) {
      const batch = this.#waiting;
      this.#waiting = [];
      try {
        await syncPath(this.#path);
        for (const w of batch) w.resolve();
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
    }
    this.#running = false;
    this.#idle();
  }
}

const dirSyncs = new Map<string, DirSync>();

/** Makes a rename (or unlink) in `dir` durable: without it a crash may forget the new directory entry. */
export function fsyncDir(dir: string): Promise<void> {
  let sync = dirSyncs.get(dir);
  if (!sync) {
    const created = new DirSync(dir, () => {
      if (dirSyncs.get(dir) === created) dirSyncs.delete(dir);
    });
    sync = created;
    dirSyncs.set(dir, sync);
  }
  return sync.request();
}

export interface AtomicWriteOptions {
  /**
   * False for advisory records (hints a later run can do without, such as a blob's labels): the content is
   * still synced before the rename, so it is whole or absent, but the directory entry is left to the file
   * system's own commit, and a crash may forget the record (never leave a part of it).
   */
  durableName?: boolean;
  /** The file's mode (default 0644); 0600 for files only their owner may read. */
  mode?: number;
}

/** Replaces a small file so readers see the old or the new content, never a part of either. */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = `${path}.tmp-${uniqueSuffix()}`;
  try {
    const handle = await open(tmp, "wx", options.mode ?? 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  if (options.durableName !== false) await fsyncDir(dirname(path));
}
