/** Turns what lstat says about a path into the LayerEntry a layer would carry for it. */
import { type BigIntStats, readlinkSync } from "node:fs";
import type { EntryType, LayerEntry } from "../../oci/layer/entry.ts";
import { timestampFromNs } from "../../oci/layer/entry.ts";
import { readXattrs } from "./xattrs.ts";

export function entryTypeOf(stats: BigIntStats): EntryType | null {
  if (stats.isFile()) return "file";
  if (stats.isDirectory()) return "dir";
  if (stats.isSymbolicLink()) return "symlink";
  if (stats.isCharacterDevice()) return "char";
  if (stats.isBlockDevice()) return "block";
  if (stats.isFIFO()) return "fifo";
  return null; // sockets: tar cannot hold them, and Docker and BuildKit leave them out too
}

/** Linux's dev_t layout (glibc's gnu_dev_major/minor): 12 bits of major and 20 of minor, split. */
export function splitDevice(rdev: bigint): { devmajor: number; devminor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { devmajor: Number(major), devminor: Number(minor) };
}

export function entryFromStats(path: string, absolute: string, stats: BigIntStats): LayerEntry | null {
  const type = entryTypeOf(stats);
  if (type === null) return null;
  const entry: LayerEntry = {
    path,
    type,
    mode: Number(stats.mode) & 0o7777,
    uid: Number(stats.uid),
    gid: Number(stats.gid),
    mtime: timestampFromNs(stats.mtimeNs),
    size: type === "file" ? Number(stats.size) : 0,
  };
  if (type === "symlink") entry.linkname = readlinkSync(absolute);
  if (type === "char" || type === "block") Object.assign(entry, splitDevice(stats.rdev));
  const xattrs = readXattrs(absolute);
  if (xattrs.size > 0) entry.xattrs = xattrs;
  return entry;
}

function sameXattrs(a: LayerEntry, b: LayerEntry): boolean {
  const x = a.xattrs ?? new Map<string, Uint8Array>();
  const y = b.xattrs ?? new Map<string, Uint8Array>();
  if (x.size !== y.size) return false;
  for (const [k, v] of x) {
    const w = y.get(k);
    if (w === undefined || Buffer.compare(v, w) !== 0) return false;
  }
  return true;
}

/** Whether two entries' metadata agree; for files this leaves the content to the caller. */
export function sameMetadata(a: LayerEntry, b: LayerEntry): boolean {
  return (
    a.type === b.type &&
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    a.size === b.size &&
    a.mtime.sec === b.mtime.sec &&
    a.mtime.nsec === b.mtime.nsec &&
    a.linkname === b.linkname &&
    a.devmajor === b.devmajor &&
    a.devminor === b.devminor &&
    sameXattrs(a, b)
  );
}
