/**
 * One entry of a layer tar, in the terms of the OCI image spec's changesets rather than of a file system:
 * whiteouts are ordinary empty files named `.wh.NAME` (see whiteout.ts), hard links name the path of the
 * first entry of their inode in the same layer.
 */
export type EntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

/** A point in time with nanosecond precision; `sec` counts from the Unix epoch. */
export interface Timestamp {
  sec: number;
  nsec: number;
}

export interface LayerEntry {
  /** Relative, "/"-separated, without leading "/" or "./" and without a trailing "/" (see layer-path.ts). */
  path: string;
  type: EntryType;
  /** Permission bits with setuid/setgid/sticky (0o7777); the file type is in `type`. */
  mode: number;
  uid: number;
  gid: number;
  mtime: Timestamp;
  /** Bytes of content; only files have any. */
  size: number;
  /** Symlink target as written, or (hard links) the layer path of the entry it links to. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes by full name (e.g. "security.capability"); values are raw bytes. */
  xattrs?: ReadonlyMap<string, Uint8Array>;
}

export const zeroTime: Timestamp = { sec: 0, nsec: 0 };

/** Nanoseconds since the epoch (as fs.Stats with `bigint: true` report them) to a Timestamp. */
export function timestampFromNs(ns: bigint): Timestamp {
  const sec = ns / 1_000_000_000n;
  const nsec = ns % 1_000_000_000n;
  // BigInt division truncates toward zero; times before the epoch need the floor.
  if (nsec < 0n) return { sec: Number(sec) - 1, nsec: Number(nsec + 1_000_000_000n) };
  return { sec: Number(sec), nsec: Number(nsec) };
}
