/**
 * The owner, mode, extended attributes and times a copied entry gets. Order matters: chown clears
 * setuid/setgid bits and security.capability, so it comes first; times come last because nothing after
 * them may touch the entry.
 */
import { type BigIntStats, lchownSync, lutimesSync } from "node:fs";
import { chmodNoFollow } from "../../fsutil/no-follow.ts";
import { readXattrs, writeXattr } from "../layer/xattrs.ts";
import type { ModeFn } from "./chmod.ts";
import { type Ids, isRoot } from "./root-path.ts";

export interface MetadataPolicy {
  /** --chown: every entry gets this owner. */
  owner: Ids | undefined;
  /** Without --chown: root-owned (copies from a local context) rather than the source's owner. */
  rootOwned: boolean;
  /** --chmod. */
  mode: ModeFn | undefined;
  warn: (message: string) => void;
}

/** Seconds as utimes takes them, from a nanosecond stat time (exact to well under a microsecond). */
export function secondsOf(ns: bigint): number {
  return Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9;
}

export function setTimes(target: string, stats: BigIntStats): void {
  lutimesSync(target, secondsOf(stats.atimeNs), secondsOf(stats.mtimeNs));
}

export function applyMetadata(
  src: string,
  target: string,
  stats: BigIntStats,
  policy: MetadataPolicy,
  logical: string,
): void {
  const owner = policy.owner ?? (policy.rootOwned ? { uid: 0, gid: 0 } : undefined);
  const uid = owner?.uid ?? Number(stats.uid);
  const gid = owner?.gid ?? Number(stats.gid);
  if (isRoot) lchownSync(target, uid, gid);
  if (!stats.isSymbolicLink()) {
    const own = Number(stats.mode) & 0o7777;
    chmodNoFollow(target, policy.mode ? policy.mode(own, stats.isDirectory()) : own);
  }
  copyXattrs(src, target, policy.warn, logical);
  setTimes(target, stats);
}

/** Extended attributes (security.capability above all) are kept where the file system takes them. */
export function copyXattrs(src: string, target: string, warn: (m: string) => void, logical: string): void {
  let attrs: Map<string, Buffer>;
  try {
    attrs = readXattrs(src);
  } catch (err) {
    warn(`${logical}: extended attributes not copied (${(err as Error).message})`);
    return;
  }
  for (const [name, value] of attrs) {
    try {
      writeXattr(target, name, value);
    } catch (err) {
      warn(`${logical}: extended attribute ${name} not copied (${(err as Error).message})`);
    }
  }
}
