/**
 * Reading a result tree that may be hostile, on the host: named paths are resolved inside the tree by the
 * worker's one in-root resolver (a link is followed as the image would see it, never out of the tree),
 * only regular files are opened (O_NOFOLLOW, checked again after opening: a fifo would hang the scan, a
 * device node would read the host), and every read and walk is bounded.
 */
import { closeSync, type Dirent, lstatSync, readdirSync, readSync } from "node:fs";
import { openRegular } from "../../fsutil/open-regular.ts";
import { resolveInRoot } from "../../worker/worker.ts";

export { openRegular };

export interface ScanLimits {
  /** Largest text file read whole (package databases, manifests). */
  maxFileBytes: number;
  /** Entries the walk visits before it stops. */
  maxEntries: number;
  /** Directory depth the walk descends to. */
  maxDepth: number;
}

export const defaultLimits: ScanLimits = { maxFileBytes: 64 << 20, maxEntries: 1_000_000, maxDepth: 48 };

/** Up to `max` bytes from `offset`. */
export function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** A text file at `path` inside the tree, or undefined (missing, not regular, larger than the cap). */
export function readTreeText(root: string, path: string, limits: ScanLimits): string | undefined {
  return readHostText(resolveInRoot(root, path).host, limits);
}

/** A file's bytes at `path` inside the tree, or undefined (missing, not regular, larger than the cap). */
export function readTreeBytes(root: string, path: string, limits: ScanLimits): Buffer | undefined {
  const f = openRegular(resolveInRoot(root, path).host);
  if (!f) return undefined;
  try {
    if (f.size > limits.maxFileBytes) return undefined;
    return readAt(f.fd, 0, f.size);
  } finally {
    closeSync(f.fd);
  }
}

/** A file the walk found (already a real path of the tree, no link on the way). */
export function readHostText(host: string, limits: ScanLimits): string | undefined {
  const f = openRegular(host);
  if (!f) return undefined;
  try {
    if (f.size > limits.maxFileBytes) return undefined;
    return readAt(f.fd, 0, f.size).toString("utf8");
  } finally {
    closeSync(f.fd);
  }
}

/** The entries of a directory inside the tree (resolved in-root), or [] when it is not one. */
export function listTreeDir(root: string, path: string): { host: string; names: string[] } {
  const { host } = resolveInRoot(root, path);
  try {
    if (!lstatSync(host).isDirectory()) return { host, names: [] };
    return { host, names: readdirSync(host).sort() };
  } catch {
    return { host, names: [] };
  }
}

export interface WalkEntry {
  /** Host path (no symlink on the way: the walk never follows one). */
  host: string;
  /** The path as the image sees it. */
  path: string;
  name: string;
  mode: number;
  size: number;
}

/**
 * Every regular file of the tree, depth-first in name order, never through a symlink; stops quietly at
 * the limits (a scan is a best effort, never a reason for a build to hang or fill memory).
 */
export function walkFiles(root: string, limits: ScanLimits, visit: (e: WalkEntry) => void): void {
  let seen = 0;
  const stack: { host: string; path: string; depth: number }[] = [{ host: root, path: "", depth: 0 }];
  while (stack.length) {
    const dir = stack.pop()!;
    let entries: Dirent[];
    try {
      // The entry types come with the listing: only regular files cost an lstat (for mode and size).
      entries = readdirSync(dir.host, { withFileTypes: true });
    } catch {
      continue;
    }
    // Name order (reversed onto the stack), so the same tree always lists its packages the same way.
    entries.sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
    for (const entry of entries) {
      if (++seen > limits.maxEntries) return;
      const host = `${dir.host}/${entry.name}`;
      const path = `${dir.path}/${entry.name}`;
      if (entry.isDirectory()) {
        if (dir.depth + 1 < limits.maxDepth) stack.push({ host, path, depth: dir.depth + 1 });
        continue;
      }
      if (!entry.isFile()) continue;
      let st: ReturnType<typeof lstatSync>;
      try {
        st = lstatSync(host);
      } catch {
        continue;
      }
      if (st.isFile()) visit({ host, path, name: entry.name, mode: st.mode, size: st.size });
    }
  }
}
