/**
 * The entries of an unpacked rootfs, in the layer tar order (parents first, names by UTF-8 bytes), for the
 * tar writer of src/oci/layer: numeric owners, modes, mtimes, symlink targets, device numbers, and hard links
 * by inode. Extended attributes are not carried (the local and tar exporters are for files, not images).
 */
import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { EntryType, LayerEntry } from "../../oci/layer/entry.ts";
import { timestampFromNs } from "../../oci/layer/entry.ts";
import type { LayerTarItem } from "../../oci/layer/tar-writer.ts";

function typeOf(s: Awaited<ReturnType<typeof lstatBig>>): EntryType | null {
  if (s.isFile()) return "file";
  if (s.isDirectory()) return "dir";
  if (s.isSymbolicLink()) return "symlink";
  if (s.isCharacterDevice()) return "char";
  if (s.isBlockDevice()) return "block";
  if (s.isFIFO()) return "fifo";
  return null; // sockets have no tar form
}

function lstatBig(path: string) {
  return lstat(path, { bigint: true });
}

/** Linux's dev_t split (glibc's gnu_dev_major/minor). */
function device(rdev: bigint): { devmajor: number; devminor: number } {
  return {
    devmajor: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    devminor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export interface WalkOptions {
  /**
   * Leave out overlay whiteouts (0/0 character devices): a view of a lone snapshot shows them as files,
   * while overlayfs, which the snapshot is written for, never shows a 0/0 device as one.
   */
  skipWhiteouts?: boolean;
}

/** Walks `root`; entry paths are `prefix/…` (prefix "" for none). The prefix directories are not included. */
export async function* rootfsTarItems(
  root: string,
  prefix: string,
  options: WalkOptions = {},
): AsyncGenerator<LayerTarItem> {
  const names = (await readdir(root)).sort(byBytes);
  for (const name of names) {
    const abs = join(root, name);
    const path = prefix ? `${prefix}/${name}` : name;
    // overlayfs lists a whiteout in a directory only one layer has (nothing below to merge with) but
    // answers a lookup of it with ENOENT: a name readdir gives and lstat denies is not in the tree.
    const s = await lstatBig(abs).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return undefined;
      throw e;
    });
    if (s === undefined) continue;
    const type = typeOf(s);
    if (type === null) continue;
    if (options.skipWhiteouts && type === "char" && s.rdev === 0n) continue;
    const entry: LayerEntry = {
      path,
      type,
      mode: Number(s.mode & 0o7777n),
      uid: Number(s.uid),
      gid: Number(s.gid),
      mtime: timestampFromNs(s.mtimeNs),
      size: type === "file" ? Number(s.size) : 0,
    };
    if (type === "symlink") entry.linkname = await readlink(abs);
    if (type === "char" || type === "block") Object.assign(entry, device(s.rdev));
    const item: LayerTarItem = { entry };
    if (type === "file") {
      item.open = () => createReadStream(abs);
      if (s.nlink > 1n) item.linkKey = `${s.dev}:${s.ino}`;
    }
    yield item;
    if (type === "dir") yield* rootfsTarItems(abs, path, options);
  }
}
