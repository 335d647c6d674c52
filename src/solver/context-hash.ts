/**
 * The digest of a local source's selection: for every selected path, in order, its type, permission bits,
 * owner, link target and (for files) the sha256 of its content. Never the mtime: touching a file without
 * changing it keeps the key, and changing a file within the same second changes it.
 */
import { createHash, type Hash } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { join } from "node:path";
import pLimit from "p-limit";
import { UserError } from "../errors/user-error.ts";
import { ContextStatIndex, type StatKey } from "./context-stat-index.ts";
import type { LocalFile, LocalSelection } from "./types.ts";

/** Files up to this size are read in one call; bigger ones in chunks of it, through one buffer. */
const chunkSize = 1024 * 1024;

/**
 * Content digests for the local sources of one build: each file is read at most once per build, and not
 * at all when the state dir's stat index (context-stat-index.ts) knows it unchanged since a past build.
 */
export class ContextHasher {
  // By root and path (joined with NUL, which no path holds: path.join per file was a tenth of the time).
  readonly #memo = new Map<string, string | Promise<string>>();
  readonly #indexDir: string | undefined;
  readonly #indexes = new Map<string, Promise<ContextStatIndex>>();
  readonly #settleMs: number | undefined;

  /**
   * `indexDir`: where the stat indexes live; without one every file is read. `settleMs`: how long before
   * its read a file must have last changed to be recorded (tests shorten it).
   */
  constructor(indexDir?: string, options: { settleMs?: number } = {}) {
    this.#indexDir = indexDir;
    this.#settleMs = options.settleMs;
  }

  #index(root: string): Promise<ContextStatIndex> | undefined {
    if (this.#indexDir === undefined) return undefined;
    let p = this.#indexes.get(root);
    if (!p) {
      p = ContextStatIndex.open(this.#indexDir, root, this.#settleMs);
      this.#indexes.set(root, p);
    }
    return p;
  }

  /**
   * The digest of `file` without reading it: this build's, or the stat index's when the file's stat is
   * the one recorded. Synchronous once `ready(root)` resolved, so an unchanged context of many files costs
   * no promise per file.
   */
  known(
    root: string,
    file: LocalFile,
    index: ContextStatIndex | undefined,
  ): string | Promise<string> | undefined {
    const key = `${root}\0${file.path}`;
    const p = this.#memo.get(key);
    if (p !== undefined) return p;
    const stat = statKey(file);
    const hex = stat && index?.lookup(file.path, stat);
    if (hex) this.#memo.set(key, hex);
    return hex;
  }

  /** The stat index of the context at `root` (undefined without an index dir). */
  ready(root: string): Promise<ContextStatIndex> | undefined {
    return this.#index(root);
  }

  /** Reads and hashes `file` (once per build), recording the result in the stat index. */
  fileDigest(root: string, file: LocalFile): string | Promise<string> {
    const key = `${root}\0${file.path}`;
    let p = this.#memo.get(key);
    if (p === undefined) {
      p = (async () => {
        const index = await this.#index(root);
        const started = Date.now();
        const { hex, after } = await readDigest(join(root, file.path), file);
        index?.record(file.path, after, hex, started);
        return hex;
      })();
      this.#memo.set(key, p);
    }
    return p;
  }

  /** Stores what this build learnt for the next one. */
  async save(): Promise<void> {
    for (const p of this.#indexes.values()) await (await p).save();
  }
}

function statKey(f: LocalFile): StatKey | undefined {
  if (f.mtimeMs === undefined || f.ctimeMs === undefined || f.ino === undefined || f.dev === undefined)
    return undefined;
  return { size: f.size, mtimeMs: f.mtimeMs, ctimeMs: f.ctimeMs, ino: f.ino, dev: f.dev, mode: f.mode };
}

/**
 * Reads a file the listing saw as a regular file, never through a link at its name (a file swapped for a
 * link to a host file is not read), and returns its digest with its stat after the read.
 */
async function readDigest(path: string, file: LocalFile) {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENOENT" || code === "ENOTDIR" || code === "ENXIO") throw changed(file);
    throw e;
  }
  try {
    if (!(await handle.stat()).isFile()) throw changed(file);
    const h = createHash("sha256");
    await hashHandle(handle, h, file.size);
    return { hex: h.digest("hex"), after: await handle.stat() };
  } finally {
    await handle.close();
  }
}

// The buffer is sized to the file (plus the byte that finds its end): a fresh 1 MiB for each of 20,000
// small files is gigabytes of garbage.
async function hashHandle(handle: FileHandle, h: Hash, size: number): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.min(chunkSize, size + 1));
  for (;;) {
    const { bytesRead } = await handle.read(buf, 0, buf.length, null);
    if (bytesRead === 0) return;
    h.update(buf.subarray(0, bytesRead));
  }
}

function changed(file: LocalFile): UserError {
  return new UserError(
    `the build context changed while it was read: ${file.path} is no longer a regular file`,
    {
      hint: "do not change the context directory during a build; run the build again",
    },
  );
}

export async function hashSelection(
  selection: LocalSelection,
  hasher: ContextHasher = new ContextHasher(),
): Promise<string> {
  const limit = pLimit(16);
  const known = selection.knownDigests;
  const index = known ? undefined : await hasher.ready(selection.root);
  const contents = await Promise.all(
    selection.files.map((f, i) =>
      f.type === "file"
        ? (known?.[i] ??
          hasher.known(selection.root, f, index) ??
          limit(() => hasher.fileDigest(selection.root, f)))
        : "",
    ),
  );
  const h = createHash("sha256");
  selection.files.forEach((f, i) => {
    const perm = f.mode & 0o7777;
    const what = f.type === "file" ? contents[i] : f.type === "symlink" ? (f.linkTarget ?? "") : "";
    // NUL separates fields: no path or link target can contain one.
    h.update(`${f.path}\0${f.type}\0${perm.toString(8)}\0${f.uid}:${f.gid}\0${what}\n`);
  });
  return `sha256:${h.digest("hex")}`;
}
