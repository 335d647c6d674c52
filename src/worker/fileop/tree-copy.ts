/**
 * Copies one source entry (a file, a link, or a directory with everything below it) to a destination
 * path, with `cp -a` semantics as BuildKit's copier has them: symlinks are copied as symlinks, files that
 * are hard links of each other within one copy stay hard links, devices and fifos are recreated, xattrs and
 * times are kept. Owner and mode follow the metadata policy (--chown, --chmod, root-owned context files).
 *
 * What is in the destination already: a directory merges with a source directory; any other entry is
 * replaced by a source file or link; a source directory over a non-directory is an error (as `cp -a` and
 * BuildKit say), unless `replaceExisting` (merging layers), where the newer entry wins whatever its type.
 *
 * Include patterns (COPY --parents) and exclude patterns (COPY --exclude) are matched against paths relative
 * to the copied source. A directory that does not match an include pattern is created only when something
 * below it does, with its source's metadata.
 *
 * Safety: every source path read is a real directory of the source tree plus a name that was lstat'ed;
 * only directories are descended into, never symlinks. Every destination path written is the (resolved)
 * target directory plus names, and only directories this copier made or found as real directories are
 * descended into; the last name is never followed (an existing entry is removed first, files are created
 * with O_EXCL, which does not follow a link).
 */
import {
  type BigIntStats,
  constants,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmSync,
  type Stats,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { copyFile } from "node:fs/promises";
import { splitDevice } from "../layer/file-entry.ts";
import { makeSpecialFile } from "../layer/special-files.ts";
import type { ActionEnv } from "./context.ts";
import { CopyQueue, settle } from "./copy-queue.ts";
import { fileOpError } from "./errors.ts";
import { applyMetadata, type MetadataPolicy, setTimes } from "./metadata.ts";
import type { PathMatcher } from "./patterns.ts";
import { isRoot, logicalPath, lstatIfExists } from "./root-path.ts";

export interface CopierOptions extends MetadataPolicy {
  include: PathMatcher | undefined;
  exclude: PathMatcher | undefined;
  /** Layer semantics (merge): an entry of another type in the destination is replaced, never an error. */
  replaceExisting: boolean;
  /** The destination root, to name paths in errors and warnings as the image sees them. */
  destRoot: string;
  env: ActionEnv;
}

interface PendingParent {
  src: string;
  dst: string;
  stats: BigIntStats;
  /** Exists in the destination (made, or found) so children can be written. */
  ready: boolean;
  /** Made late for an included child: its metadata is set once its children are written. */
  madeLate: boolean;
  /** Its files' copies in flight; all finish before the directory's own times are set. */
  tasks: Promise<void>[];
}

/** A copied file another link of the same inode will be linked to, once its copy is done. */
interface FirstLink {
  path: string;
  done: Promise<void>;
}

/**
 * Copies in flight per copier: enough to keep libuv's thread pool busy while the walk goes on, few enough
 * that two platforms' copies and the layer compression share it.
 */
const copiesInFlight = 8;
const copyFlags = constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE;

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export class Copier {
  readonly options: CopierOptions;
  /** Source inode (dev:ino) of a multiply linked file to the first destination path it was copied to. */
  readonly #inodes = new Map<string, FirstLink>();
  readonly #parents: PendingParent[] = [];
  readonly #queue = new CopyQueue(copiesInFlight);

  constructor(options: CopierOptions) {
    this.options = options;
  }

  #logical(host: string): string {
    return logicalPath(this.options.destRoot, host);
  }

  /**
   * Copies `src` (host path, already resolved in its tree) to `dst` (host path in the destination, whose
   * parent exists). `rel` is the path relative to the copied source ("" at its top); `nested` is false
   * for the top of a copy, whose existing directory keeps its owner and mode.
   */
  async copy(src: string, rel: string, dst: string, nested: boolean): Promise<void> {
    const stats = lstatSync(src, { bigint: true });
    const isDir = stats.isDirectory();
    let include = true;
    if (rel !== "") {
      const { include: inc, exclude } = this.options;
      if (inc && !inc.matches(rel)) include = false;
      if (exclude?.matches(rel)) {
        // Below an excluded directory nothing can match again unless some pattern is an exception.
        if (isDir && !exclude.hasExceptions) return;
        include = false;
      }
    }
    let existing = lstatIfExists(dst);
    if (include) {
      if (existing && this.options.replaceExisting && !(isDir && existing.isDirectory())) {
        rmSync(dst, { recursive: true, force: true });
        existing = undefined;
      }
      this.#makeParents();
    }
    if (!isDir) {
      if (!include) return;
      if (existing?.isDirectory()) {
        throw fileOpError(
          this.options.env,
          `cannot replace directory ${this.#logical(dst)} with a file`,
          "the destination already has a directory of that name; copy to another path or remove it first",
        );
      }
      if (existing) unlinkSync(dst);
    }

    let writeMetadata = include;
    let restoreTimes = false;
    if (isDir) {
      const made = await this.#copyDirectory(src, rel, dst, stats, include, existing);
      if (!nested) {
        writeMetadata = made;
        restoreTimes = !made;
      }
    } else if (stats.isFile()) {
      await this.#copyFile(src, dst, stats);
      return;
    } else if (stats.isSymbolicLink()) {
      symlinkSync(readlinkSync(src), dst);
    } else if (stats.isFIFO()) {
      await makeSpecialFile(dst, "fifo");
    } else if (stats.isCharacterDevice() || stats.isBlockDevice()) {
      if (!isRoot) {
        this.options.warn(`${this.#logical(dst)}: device node skipped (creating devices needs root)`);
        return;
      }
      const { devmajor, devminor } = splitDevice(stats.rdev);
      await makeSpecialFile(dst, stats.isCharacterDevice() ? "char" : "block", devmajor, devminor);
    } else {
      // Sockets: a layer cannot hold them (Docker and BuildKit leave them out of images too).
      return;
    }

    if (writeMetadata) applyMetadata(src, dst, stats, this.options, this.#logical(dst));
    else if (restoreTimes && existing) setTimes(dst, stats);
  }

  /**
   * A regular file: copied on the thread pool (reflinked where the file system can), then given its
   * metadata. Inside a directory the walk goes on meanwhile; the directory settles its files before its
   * own times are set. The top of a copy is finished before this returns.
   */
  async #copyFile(src: string, dst: string, stats: BigIntStats): Promise<void> {
    const key = `${stats.dev}:${stats.ino}`;
    const first = stats.nlink > 1n ? this.#inodes.get(key) : undefined;
    if (first !== undefined) {
      await first.done;
      // link(2) never follows a symlink it is given, and `first.path` is a file this copy wrote.
      linkSync(first.path, dst);
      return;
    }
    // O_EXCL: never written through whatever might stand at dst; `dst` was made free (or found free) by
    // the walk, and no other entry of this copy has the same path.
    const write = async () => {
      await copyFile(src, dst, copyFlags);
      applyMetadata(src, dst, stats, this.options, this.#logical(dst));
    };
    const frame = this.#parents.at(-1);
    const done = frame === undefined ? write() : (await this.#queue.start(write)).done;
    if (stats.nlink > 1n) this.#inodes.set(key, { path: dst, done });
    if (frame === undefined) await done;
    else frame.tasks.push(done);
  }

  /** Returns whether the destination directory was made by this copy. */
  async #copyDirectory(
    src: string,
    rel: string,
    dst: string,
    stats: BigIntStats,
    include: boolean,
    existing: Stats | undefined,
  ): Promise<boolean> {
    let made = false;
    if (include) made = this.#makeDirectory(dst, existing);
    const parent: PendingParent = { src, dst, stats, ready: include, madeLate: false, tasks: [] };
    this.#parents.push(parent);
    try {
      for (const name of readdirSync(src).sort(byteOrder)) {
        await this.copy(`${src}/${name}`, rel === "" ? name : `${rel}/${name}`, `${dst}/${name}`, true);
      }
    } catch (err) {
      // Nothing of this copy may still be writing when the error reaches whoever cleans up.
      await Promise.allSettled(parent.tasks);
      throw err;
    } finally {
      this.#parents.pop();
    }
    await settle(parent.tasks);
    // A directory made for an included child gets its metadata now, after its children changed its mtime.
    if (parent.madeLate) applyMetadata(src, dst, stats, this.options, this.#logical(dst));
    return made;
  }

  #makeDirectory(dst: string, existing: Stats | undefined): boolean {
    if (existing === undefined) {
      // Owner-only until its metadata is applied, so no one else can use it half-made.
      mkdirSync(dst, { mode: 0o700 });
      return true;
    }
    if (!existing.isDirectory()) {
      throw fileOpError(
        this.options.env,
        `cannot copy a directory to ${this.#logical(dst)}: it exists and is not a directory`,
        existing.isSymbolicLink()
          ? "the destination has a symlink there; BuildKit and cp -a do not copy a directory through a symlink, so copy to the link's target path instead"
          : "remove the file first or copy to another path",
      );
    }
    return false;
  }

  /** Makes the directories above an included entry that were waiting for one (include patterns). */
  #makeParents(): void {
    for (const parent of this.#parents) {
      if (parent.ready) continue;
      const existing = lstatIfExists(parent.dst);
      parent.madeLate = this.#makeDirectory(parent.dst, existing);
      parent.ready = true;
    }
  }
}
