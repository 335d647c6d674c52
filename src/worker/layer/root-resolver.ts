/**
 * Resolves paths inside a snapshot as if the snapshot were "/": every symlink met on the way is
 * followed, but an absolute target restarts at the snapshot root and ".." never climbs above it. This
 * is what containerd's fs.RootPath does and what openat2's RESOLVE_IN_ROOT would do, which Node lacks.
 *
 * Only directories are resolved this way; the last component of an entry is never followed (it is
 * removed and recreated), so no write can leave the root. Resolution is synchronous on purpose: nothing
 * else writes into a snapshot being unpacked, and no await between check and use leaves a gap.
 *
 * With a `lower` tree (the layers below, for a layer directory stacked on them as an overlay upper), a
 * name the root lacks is looked up in `lower` where overlayfs would show it: a lower symlink is followed
 * (inside the root, as the merged view would), and a lower directory on the way is made in the root with
 * the lower one's metadata. Where the root's own directory hides the lower one (opaque, or the lower name
 * is not a directory), nothing below it is read from `lower`, so a lower symlink is never followed by the
 * host: `lower` is only ever lstat'ed and readlink'ed below directories it really has.
 */
import { type BigIntStats, lstatSync, mkdirSync, readlinkSync } from "node:fs";
import { dirname } from "node:path";
import { UserError } from "../../errors/user-error.ts";
import { baseName, parentPath } from "../../oci/layer/layer-path.ts";
import { readXattr } from "./xattrs.ts";

/** Linux gives up after 40 links in one lookup; the same bound stops a symlink loop here. */
const maxLinks = 40;

export interface ResolverHooks {
  /** The layers below as one tree (see the top comment); absolute, without symlinks. */
  lower?: string;
  /** Where overlayfs's opaque marker is read in the root ("trusted" or "user"). */
  opaqueXattr?: string;
  /** A directory the resolver made at `rel` (relative to the root), with the lower directory it stands for. */
  created?: (rel: string, lower: { path: string; stats: BigIntStats } | null) => void;
  /** A directory `rel` the root lacked on a lookup that made nothing. */
  missing?: (rel: string) => void;
  /** A lower symlink was followed. */
  followedLower?: () => void;
}

interface Resolved {
  real: string;
  /** Per depth below the root (index 0 is the root), whether the lower tree shows through there. */
  lowerSeen: boolean[];
}

export class RootResolver {
  readonly root: string;
  readonly #hooks: ResolverHooks;
  /** Logical directory (cleaned layer path) to the real directory it resolves to. */
  #cache = new Map<string, Resolved>();

  /** `root` must be an absolute path without symlinks (realpath it first). */
  constructor(root: string, hooks: ResolverHooks = {}) {
    this.root = root;
    this.#hooks = hooks;
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
    return this.#resolve(dir, create, entry)?.real ?? null;
  }

  #resolve(dir: string, create: boolean, entry: string): Resolved | null {
    if (dir === "") return { real: this.root, lowerSeen: [this.#hooks.lower !== undefined] };
    const cached = this.#cache.get(dir);
    if (cached !== undefined) return cached;
    const parent = this.#resolve(parentPath(dir), create, entry);
    if (parent === null) return null;
    const resolved = this.#walk(parent, [baseName(dir)], create, entry, dir);
    if (resolved !== null) this.#cache.set(dir, resolved);
    return resolved;
  }

  #lowerPath(real: string): string {
    return `${this.#hooks.lower}${real.slice(this.root.length)}`;
  }

  #opaque(real: string): boolean {
    const name = this.#hooks.opaqueXattr;
    return name !== undefined && readXattr(real, name)?.toString() === "y";
  }

  #walk(
    start: Resolved,
    components: string[],
    create: boolean,
    entry: string,
    logical: string,
  ): Resolved | null {
    let current = start.real;
    // A path the root lacks but the lower tree has as a directory is walked on without being made
    // (a lookup that creates nothing), so `current` may not exist in the root.
    const seen = [...start.lowerSeen];
    const queue = [...components];
    let links = 0;
    while (queue.length > 0) {
      const part = queue.shift()!;
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (current !== this.root) {
          current = dirname(current);
          seen.pop();
        }
        continue;
      }
      const next = `${current}/${part}`;
      const lowerHere = seen[seen.length - 1] === true;
      let stats = lstatSync(next, { throwIfNoEntry: false });
      let fromLower = false;
      let lowerDir: { path: string; stats: BigIntStats } | null = null;
      if (stats === undefined && lowerHere) {
        const lowerPath = this.#lowerPath(next);
        const below = lstatSync(lowerPath, { bigint: true, throwIfNoEntry: false });
        if (below?.isSymbolicLink()) {
          stats = lstatSync(lowerPath);
          fromLower = true;
        } else if (below?.isDirectory()) lowerDir = { path: lowerPath, stats: below };
      }
      if (stats === undefined) {
        const rel = next.slice(this.root.length + 1);
        if (!create) {
          if (lowerDir === null) {
            this.#hooks.missing?.(rel);
            return null;
          }
        } else {
          mkdirSync(next, { mode: 0o755 });
          this.#hooks.created?.(rel, lowerDir);
        }
        current = next;
        seen.push(lowerDir !== null);
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
        const target = readlinkSync(fromLower ? this.#lowerPath(next) : next);
        if (fromLower) this.#hooks.followedLower?.();
        if (target.startsWith("/")) {
          current = this.root;
          seen.splice(1);
        }
        queue.unshift(...target.split("/"));
        continue;
      }
      if (!stats.isDirectory()) {
        throw new UserError(`layer entry ${JSON.stringify(entry)}: ${logical} is not a directory`, {
          hint: "a file of this or a lower layer stands where the entry needs a directory; the layer is malformed",
        });
      }
      seen.push(lowerHere && !this.#opaque(next) && this.#lowerIsDir(next));
      current = next;
    }
    if (!create && lstatSync(current, { throwIfNoEntry: false }) === undefined) {
      this.#hooks.missing?.(current.slice(this.root.length + 1));
      return null;
    }
    return { real: current, lowerSeen: seen };
  }

  #lowerIsDir(real: string): boolean {
    return lstatSync(this.#lowerPath(real), { throwIfNoEntry: false })?.isDirectory() === true;
  }
}
