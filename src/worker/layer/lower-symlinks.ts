/**
 * Whether a layer unpacked on its own (apply-layer.ts) is wrong over a given chain below it: true when a
 * directory it had to make, or could not find, stands where the layers below have a symlink that the
 * merged view would follow (`bin -> usr/bin` below, `bin/sh` in the layer). Its own `bin/` would then
 * hide the link, so the layer must be unpacked onto the layers below instead.
 *
 * Every path is walked one name at a time from the root in both trees, and the walk stops at the first
 * name that is not a plain directory in either, so nothing is ever looked up through a symlink on the
 * host. A name the layer has as a directory of its own (an entry) hides what is below, as in overlayfs.
 */
import { lstatSync } from "node:fs";
import type { LowerPaths } from "./apply-layer.ts";
import { readXattr } from "./xattrs.ts";

export interface LowerSymlinkTrees {
  /** The layer's own directory (overlay upper format). */
  layer: string;
  /** The layers below as one tree. */
  lower: string;
  /** The opaque marker's xattr name in `layer`. */
  opaqueXattr: string;
}

export function needsLowerSymlinks(paths: LowerPaths, trees: LowerSymlinkTrees): boolean {
  const created = new Set(paths.created);
  for (const path of [...paths.created, ...paths.missing]) {
    let rel = "";
    for (const name of path.split("/")) {
      rel = rel === "" ? name : `${rel}/${name}`;
      const own = lstatSync(`${trees.layer}/${rel}`, { throwIfNoEntry: false });
      const below = lstatSync(`${trees.lower}/${rel}`, { throwIfNoEntry: false });
      const ownEntry = own !== undefined && !created.has(rel);
      if (own !== undefined && !own.isDirectory()) break;
      if (!ownEntry && below?.isSymbolicLink()) return true;
      if (below === undefined || !below.isDirectory()) break;
      if (ownEntry && readXattr(`${trees.layer}/${rel}`, trees.opaqueXattr)?.toString() === "y") break;
    }
  }
  return false;
}
