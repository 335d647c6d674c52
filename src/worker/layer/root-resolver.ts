/**
 * Resolves paths inside a snapshot as if the snapshot were "/": every symlink met on the way is
 * followed, but an absolute target restarts at the snapshot root and ".." never climbs above it. This
 * is what containerd's fs.RootPath does and what openat2's RESOLVE_IN_ROOT would do, which Node lacks.
 *
 * Only directories are resolved this way; the last component of an entry is never followed (it is
 * removed and recreated), so no write can leave the root. Resolution is synchronous on purpose: nothing
 * else writes into a snapshot being unpacked, and no await between check and use leaves a gap.
 */
import { lstatSync, mkdirSync, readlinkSync } from "node:fs";
import { dirname } from "node:path";
import { UserError } from "../../errors/user-error.ts";
import { baseName, parentPath } from "../../oci/layer/layer-path.ts";

/** Linux gives up after 40 links in one lookup; the same bound stops a symlink loop here. */
const maxLinks = 40;

export class RootResolver {
  readonly root: string;
  /** Logical directory (cleaned layer path) to the real directory it resolves to. */
  #cache = new Map<string, string>();

  /** `root` must be an absolute path without symlinks (realpath it first). */
  constructor(root: string) {
    this.root = root;
  }

  /** To be called whenever something that existed is removed or replaced: cached answers may be stale. */
  forget(): void {
    this.#cache.clear();
  }

  /**
   * The real path of the directory at logical path `dir` ("" is the root). Missing directories are
   * created (mode 0755) when `create` is set, else null is returned. A non-directory in the way is an
   * error naming `entry`.
   */
  resolveDir(dir: string, create: boolean, entry: string): string | null {
    if (dir === "") return this.root;
    const cached = this.#cache.get(dir);
    if (cached !== undefined) return cached;
    const parent = this.resolveDir(parentPath(dir), create, entry);
    if (parent === null) return null;
    const real = this.#walk(parent, [baseName(dir)], create, entry, dir);
    if (real !== null) this.#cache.set(dir, real);
    return real;
  }

  #walk(start: string, components: string[], create: boolean, entry: string, logical: string): string | null {
    let current = start;
    const queue = [...components];
    let links = 0;
    while (queue.length > 0) {
      const part = queue.shift()!;
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (current !== this.root) current = dirname(current);
        continue;
      }
      const next = `${current}/${part}`;
      const stats = lstatSync(next, { throwIfNoEntry: false });
      if (stats === undefined) {
        if (!create) return null;
        mkdirSync(next, { mode: 0o755 });
        current = next;
        continue;
      }
      if (stats.isSymbolicLink()) {
        if (++links > maxLinks) {
          throw new UserError(
            `layer entry ${JSON.stringify(entry)}: too many levels of symbolic links at ${logical}`,
            {
              hint: "the layer (or one below it) contains a symlink loop",
            },
          );
        }
        const target = readlinkSync(next);
        if (target.startsWith("/")) current = this.root;
        queue.unshift(...target.split("/"));
        continue;
      }
      if (!stats.isDirectory()) {
        throw new UserError(`layer entry ${JSON.stringify(entry)}: ${logical} is not a directory`, {
          hint: "a file of this or a lower layer stands where the entry needs a directory; the layer is malformed",
        });
      }
      current = next;
    }
    return current;
  }
}
