/**
 * The differ: what a build step changed, as the entries of its layer.
 *
 * Two shapes of input, because there are two snapshotters:
 * - "overlay": `upper` is an overlayfs upperdir. It holds exactly what the step touched; deletions are
 *   whiteouts (0/0 character devices) and "replace this directory" is the opaque xattr
 *   (trusted.overlay.opaque, or user.overlay.opaque when mounted with userxattr).
 * - "tree": `upper` is a complete tree (the copy-based fallback) and `lower` the tree it was copied from;
 *   the two are walked side by side as BuildKit's double-walking differ does.
 *
 * Both give the same layer for the same change (opaque directories aside: a tree comparison lists the
 * deleted children instead). A path counts as unchanged when type, mode, owner, size, mtime (to the
 * nanosecond), link target, device and xattrs all match; content is compared only when both mtimes lack
 * sub-second precision and so cannot be trusted. Every changed path's parent directories are included so
 * that the layer applies on its own (containerd's includeParents does the same). When any link of a
 * multiply-linked file changed, all its links in `upper` are included, so the link survives.
 */
import { type BigIntStats, lstatSync, readdirSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import type { LayerEntry } from "../../oci/layer/entry.ts";
import { zeroTime } from "../../oci/layer/entry.ts";
import {
  joinLayerPath,
  opaqueMarkerFor,
  parentPath,
  sortByLayerPath,
  whiteoutPathFor,
} from "../../oci/layer/layer-path.ts";
import { entryFromStats, sameMetadata } from "./file-entry.ts";
import { isOverlayWhiteout } from "./special-files.ts";
import { readXattr } from "./xattrs.ts";

export type UpperKind = "overlay" | "tree";

export interface DiffOptions {
  /** The step's result: an overlayfs upperdir, or a complete tree (see upperKind). */
  upper: string;
  upperKind: UpperKind;
  /** What the step started from; for "overlay" a merged view of the lower layers. Absent for a first layer. */
  lower?: string;
}

export interface Change {
  entry: LayerEntry;
  /** Absolute path of a file's content. */
  source?: string;
  /** Inode identity of files with several links (see LayerTarItem.linkKey). */
  linkKey?: string;
}

/** A change for the marker entries: empty, root-owned, at the epoch, so that they never vary. */
function markerChange(path: string): Change {
  return { entry: { path, type: "file", mode: 0, uid: 0, gid: 0, mtime: zeroTime, size: 0 } };
}

function lstatOrNull(path: string): BigIntStats | null {
  return lstatSync(path, { bigint: true, throwIfNoEntry: false }) ?? null;
}

function isOpaqueDir(path: string): boolean {
  for (const name of ["trusted.overlay.opaque", "user.overlay.opaque"]) {
    if (readXattr(path, name)?.toString() === "y") return true;
  }
  return false;
}

async function sameContent(a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a, "r"), open(b, "r")]);
  try {
    const ba = Buffer.alloc(256 * 1024);
    const bb = Buffer.alloc(256 * 1024);
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, ba.length), fb.read(bb, 0, bb.length)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

class Walk {
  readonly options: DiffOptions;
  readonly changes: Change[] = [];
  /** Links of multiply-linked files that did not change, by inode, in case a sibling link did. */
  readonly quietLinks = new Map<string, Change[]>();
  readonly changedInodes = new Set<string>();
  #visited = 0;

  constructor(options: DiffOptions) {
    this.options = options;
  }

  async dir(rel: string, upperDir: string, lowerDir: string | null): Promise<void> {
    // Sync calls: far cheaper than a thread-pool round trip per stat; yield now and then so that other
    // layers' compression keeps flowing.
    if (++this.#visited % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
    const names = readdirSync(upperDir);
    const overlay = this.options.upperKind === "overlay";
    for (const name of names) {
      const path = joinLayerPath(rel, name);
      const upperPath = join(upperDir, name);
      const stats = lstatSync(upperPath, { bigint: true });
      const lowerPath = lowerDir === null ? null : join(lowerDir, name);
      const lowerStats = lowerPath === null ? null : lstatOrNull(lowerPath);
      if (overlay && isOverlayWhiteout(stats)) {
        // Without a lower view every whiteout is kept; with one, those hiding nothing are dropped.
        if (this.options.lower === undefined || lowerStats !== null)
          this.changes.push(markerChange(whiteoutPathFor(path)));
        continue;
      }
      const entry = entryFromStats(path, upperPath, stats);
      if (entry === null) continue;
      const lowerEntry =
        lowerStats === null || lowerPath === null ? null : entryFromStats(path, lowerPath, lowerStats);
      if (entry.type === "dir") {
        let opaque = overlay && isOpaqueDir(upperPath);
        // An opaque marker over nothing (or with no lower view to tell) changes nothing when there is a lower view.
        if (opaque && this.options.lower !== undefined) {
          opaque = lowerEntry?.type === "dir" && readdirSync(lowerPath!).length > 0;
        }
        if (lowerEntry === null || !sameMetadata(entry, lowerEntry)) this.changes.push({ entry });
        if (opaque) this.changes.push(markerChange(opaqueMarkerFor(path)));
        const childLower = lowerEntry?.type === "dir" && !opaque ? lowerPath : null;
        await this.dir(path, upperPath, childLower);
        continue;
      }
      const change: Change = { entry };
      if (entry.type === "file") change.source = upperPath;
      if (entry.type === "file" && stats.nlink > 1n) change.linkKey = `${stats.dev}:${stats.ino}`;
      const changed =
        lowerEntry === null ||
        !(await this.same(entry, lowerEntry, stats, lowerStats!, upperPath, lowerPath!));
      if (changed) {
        this.changes.push(change);
        if (change.linkKey !== undefined) this.changedInodes.add(change.linkKey);
      } else if (change.linkKey !== undefined) {
        const list = this.quietLinks.get(change.linkKey) ?? [];
        list.push(change);
        this.quietLinks.set(change.linkKey, list);
      }
    }
    if (!overlay && lowerDir !== null) {
      const present = new Set(names);
      for (const name of readdirSync(lowerDir)) {
        if (!present.has(name)) this.changes.push(markerChange(whiteoutPathFor(joinLayerPath(rel, name))));
      }
    }
  }

  async same(
    entry: LayerEntry,
    lowerEntry: LayerEntry,
    stats: BigIntStats,
    lowerStats: BigIntStats,
    upperPath: string,
    lowerPath: string,
  ): Promise<boolean> {
    if (!sameMetadata(entry, lowerEntry)) return false;
    if (entry.type !== "file") return true;
    if (stats.dev === lowerStats.dev && stats.ino === lowerStats.ino) return true;
    if (entry.mtime.nsec !== 0) return true;
    return sameContent(upperPath, lowerPath);
  }

  /** Adds the untouched links of changed inodes, and every missing parent directory. */
  complete(): Change[] {
    for (const key of this.changedInodes) this.changes.push(...(this.quietLinks.get(key) ?? []));
    const paths = new Set(this.changes.map((c) => c.entry.path));
    for (const change of [...this.changes]) {
      for (let dir = parentPath(change.entry.path); dir !== "" && !paths.has(dir); dir = parentPath(dir)) {
        paths.add(dir);
        const absolute = join(this.options.upper, dir);
        const entry = entryFromStats(dir, absolute, lstatSync(absolute, { bigint: true }));
        if (entry !== null) this.changes.push({ entry });
      }
    }
    return sortByLayerPath(this.changes, (c) => c.entry.path);
  }
}

/** The changes from `lower` to `upper`, in layer order; an empty list means the step changed nothing. */
export async function computeChanges(options: DiffOptions): Promise<Change[]> {
  const walk = new Walk(options);
  await walk.dir("", options.upper, options.lower ?? null);
  return walk.complete();
}
