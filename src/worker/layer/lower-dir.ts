/**
 * A directory made in a layer's own directory where the layers below have one (an overlay upper's copy
 * of a lower directory, as copy-up makes it): it takes the lower directory's owner, mode, xattrs and
 * times, so the merged view shows the directory as the layers below have it, not as 0755 root "now".
 * Used for the parents of a hard link to a lower file (lower-links.ts) and of an entry unpacked onto
 * the layers below (apply-layer.ts with `lower`).
 */
import { type BigIntStats, lchownSync, lstatSync, lutimesSync } from "node:fs";
import { chmodNoFollow } from "../../fsutil/no-follow.ts";
import { readXattrs, writeXattr } from "./xattrs.ts";

const isRoot = process.getuid?.() === 0;

export interface LowerDir {
  /** The directory made (a real path: no symlink on the way when it was made). */
  real: string;
  /** The lower directory it stands for, and its stats. */
  from: string;
  stats: BigIntStats;
}

function seconds(ns: bigint): number {
  return Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9;
}

/** Owner, mode, xattrs and times of `from` onto `to` (never following a symlink). */
export function copyMetadata(from: string, to: string, stats: BigIntStats): void {
  if (isRoot) lchownSync(to, Number(stats.uid), Number(stats.gid));
  chmodNoFollow(to, Number(stats.mode) & 0o7777);
  for (const [name, value] of readXattrs(from)) writeXattr(to, name, value);
  lutimesSync(to, seconds(stats.atimeNs), seconds(stats.mtimeNs));
}

/**
 * Owner, mode and xattrs when the directory is made (`times` false: writing into it would change them),
 * and again with the times once everything is written. The second call checks first that the path is
 * still the directory made, reached without a symlink (a later entry may have replaced one on the way).
 */
export function copyLowerDirMetadata(dir: LowerDir & { ino?: number }, times: boolean): void {
  if (!times) {
    dir.ino = lstatSync(dir.real).ino;
    if (isRoot) lchownSync(dir.real, Number(dir.stats.uid), Number(dir.stats.gid));
    chmodNoFollow(dir.real, Number(dir.stats.mode) & 0o7777);
    for (const [name, value] of readXattrs(dir.from)) writeXattr(dir.real, name, value);
    return;
  }
  const parts = dir.real.split("/");
  for (let i = 2; i <= parts.length; i++) {
    const st = lstatSync(parts.slice(0, i).join("/"), { throwIfNoEntry: false });
    if (st === undefined || !st.isDirectory()) return;
    if (i === parts.length && st.ino !== dir.ino) return;
  }
  lutimesSync(dir.real, seconds(dir.stats.atimeNs), seconds(dir.stats.mtimeNs));
}
