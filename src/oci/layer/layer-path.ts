/**
 * Paths inside a layer: how names from a tar header are cleaned, and the one order in which a layer's
 * entries are written so that the same tree always gives the same bytes.
 */

/**
 * Cleans a tar entry name to the form LayerEntry.path uses: no leading "/" or "./", no trailing "/",
 * "." and empty components dropped, ".." resolved lexically. Returns null when ".." climbs above the
 * layer root (such a name can only be an attempt to write outside the target). The root itself is "".
 */
export function cleanLayerPath(name: string): string | null {
  const out: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) return null;
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join("/");
}

export function parentPath(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export function joinLayerPath(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

export const whiteoutPrefix = ".wh.";
/** AUFS's marker for "hide everything the lower layers have in this directory". */
export const opaqueMarker = ".wh..wh..opq";
const metaPrefix = ".wh..wh.";

export function whiteoutPathFor(path: string): string {
  return joinLayerPath(parentPath(path), whiteoutPrefix + baseName(path));
}

export function opaqueMarkerFor(dir: string): string {
  return joinLayerPath(dir, opaqueMarker);
}

export type WhiteoutKind =
  | { kind: "whiteout"; target: string }
  | { kind: "opaque"; dir: string }
  /** Other ".wh..wh." names are AUFS bookkeeping (e.g. ".wh..wh.plnk") and carry no change. */
  | { kind: "meta" };

/** Classifies a cleaned layer path; null when it is an ordinary entry. */
export function classifyWhiteout(path: string): WhiteoutKind | null {
  const base = baseName(path);
  const dir = parentPath(path);
  // Anything inside an AUFS bookkeeping directory (e.g. ".wh..wh.plnk/123") is bookkeeping too.
  if (dir.split("/").some((part) => part.startsWith(metaPrefix))) return { kind: "meta" };
  if (!base.startsWith(whiteoutPrefix)) return null;
  if (base === opaqueMarker) return { kind: "opaque", dir };
  if (base.startsWith(metaPrefix)) return { kind: "meta" };
  return { kind: "whiteout", target: joinLayerPath(dir, base.slice(whiteoutPrefix.length)) };
}

/**
 * A byte string whose order is the layer order: depth-first by component, names compared as UTF-8
 * bytes (so every parent comes before its children, and "a/b" before "a-b" as a sorted directory walk
 * gives them), and a directory's opaque marker first among its children so that an applier hides the
 * lower layers' contents before it writes this layer's.
 */
export function layerSortKey(path: string): Buffer {
  const parts: Buffer[] = [];
  let first = true;
  for (const component of path.split("/")) {
    if (!first) parts.push(separator);
    first = false;
    parts.push(component === opaqueMarker ? opaqueTag : Buffer.concat([nameTag, Buffer.from(component)]));
  }
  return Buffer.concat(parts);
}

// Names never contain NUL, so 0x00 between components sorts a parent's children right after it; the
// tags keep the opaque marker ahead of every real name, whatever bytes that name starts with.
const separator = Buffer.from([0]);
const opaqueTag = Buffer.from([1]);
const nameTag = Buffer.from([2]);

export function compareLayerPaths(a: string, b: string): number {
  return Buffer.compare(layerSortKey(a), layerSortKey(b));
}

/** Sorts in layer order, computing each key once. */
export function sortByLayerPath<T>(items: readonly T[], pathOf: (item: T) => string): T[] {
  const keyed = items.map((item) => ({ item, key: layerSortKey(pathOf(item)) }));
  keyed.sort((x, y) => Buffer.compare(x.key, y.key));
  return keyed.map((k) => k.item);
}
