import type { BigIntStats } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join, posix } from "node:path";
import { compileDockerPatterns, type DockerPatternMatcher } from "../../fsutil/docker-patterns.ts";
import type { WireStat } from "../wire.ts";
import { contextXattrs } from "./xattrs.ts";

/**
 * The entries of a local directory the daemon asked for, in the order fsutil's receiver requires (depth
 * first, each directory's names in byte order, every parent before its children), filtered by the
 * request's include and exclude patterns (the frontend sends .dockerignore's rules and the paths COPY
 * needs). Nothing is followed: a symlink is sent as a symlink, so nothing outside the directory is read.
 */
export interface WalkedEntry {
  /** Absolute path on this machine. */
  abs: string;
  stat: WireStat;
}

export interface WalkFilter {
  include: readonly string[];
  exclude: readonly string[];
  /** Paths the frontend needs (the Dockerfile, COPY sources): included, with the targets of symlinks. */
  follow?: readonly string[];
}

// Go's os.FileMode bits, which fsutil's Stat.mode carries (not the unix st_mode layout).
const goMode = {
  dir: 1 << 31,
  symlink: 1 << 27,
  device: 1 << 26,
  namedPipe: 1 << 25,
  setuid: 1 << 23,
  setgid: 1 << 22,
  charDevice: 1 << 21,
  sticky: 1 << 20,
};

/** A unix st_mode as Go's os.FileMode (what fsutil puts on the wire). */
export function toGoFileMode(mode: number): number {
  let m = mode & 0o777;
  const type = mode & 0o170000;
  if (type === 0o040000) m |= goMode.dir;
  else if (type === 0o120000) m |= goMode.symlink;
  else if (type === 0o010000) m |= goMode.namedPipe;
  else if (type === 0o060000) m |= goMode.device;
  else if (type === 0o020000) m |= goMode.device | goMode.charDevice;
  // Sockets are sent as plain files' metadata would be by fsutil: the socket bit is cleared.
  if (mode & 0o4000) m |= goMode.setuid;
  if (mode & 0o2000) m |= goMode.setgid;
  if (mode & 0o1000) m |= goMode.sticky;
  return m >>> 0;
}

export function isRegularGoMode(mode: number): boolean {
  const typeBits =
    goMode.dir |
    goMode.symlink |
    goMode.device |
    goMode.namedPipe |
    goMode.charDevice |
    (1 << 24) |
    (1 << 19);
  return (mode & typeBits) === 0;
}

async function statOf(abs: string, rel: string, st: BigIntStats): Promise<WireStat> {
  const isDir = st.isDirectory();
  const isLink = st.isSymbolicLink();
  const mode = toGoFileMode(Number(st.mode));
  const devices = st.isBlockDevice() || st.isCharacterDevice();
  const rdev = Number(st.rdev);
  return {
    path: rel,
    mode,
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: isDir ? 0 : Number(st.size),
    // Nanoseconds; the double rounds them the same way every time, so an unchanged file compares equal.
    modTime: Number(st.mtimeNs),
    linkname: isLink ? await readlink(abs) : "",
    devmajor: devices ? (rdev >> 8) & 0xfff : 0,
    devminor: devices ? (rdev & 0xff) | ((rdev >> 12) & 0xfff00) : 0,
    xattrs: contextXattrs(abs),
  };
}

/** Byte-order comparison of names, as Go compares strings. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

class IncludeFilter {
  readonly #patterns: { parts: string[]; whole: DockerPatternMatcher }[];
  constructor(patterns: readonly string[]) {
    this.#patterns = patterns
      .map((p) => p.replace(/^\/+/, "").replace(/\/+$/, ""))
      .filter((p) => p !== "")
      .map((p) => ({ parts: p.split("/"), whole: compileDockerPatterns([p]) }));
  }
  get empty(): boolean {
    return this.#patterns.length === 0;
  }
  /** The path or one of its parents matches a pattern: it and everything under it is sent. */
  includes(rel: string): boolean {
    return this.empty || this.#patterns.some((p) => p.whole.matches(rel));
  }
  /** Something under the directory could still match: walk into it. */
  mayContain(rel: string): boolean {
    if (this.empty) return true;
    const dirParts = rel.split("/");
    return this.#patterns.some((p) => {
      for (let i = 0; i < dirParts.length; i++) {
        const want = p.parts[i];
        if (want === undefined) return true;
        if (want === "**") return true;
        if (!compileDockerPatterns([want]).matches(dirParts[i]!)) return false;
      }
      return true;
    });
  }
}

/**
 * Each follow path and, when it is a symlink, what it points to, resolved lexically inside the root (as
 * fsutil's FollowLinks does); a link that leaves the root adds nothing, so nothing outside is ever sent.
 */
async function followLinks(root: string, paths: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const start of paths) {
    let rel = posix.normalize(`/${start}`).slice(1);
    for (let hops = 0; hops < 40 && rel !== ""; hops++) {
      out.add(rel);
      let target: string;
      try {
        target = await readlink(join(root, rel));
      } catch {
        break;
      }
      const next = posix.normalize(
        posix.isAbsolute(target) ? target : posix.join("/", posix.dirname(rel), target),
      );
      rel = next.slice(1);
    }
  }
  return [...out];
}

export async function walkContext(root: string, filter: WalkFilter): Promise<WalkedEntry[]> {
  const followed = filter.follow && filter.follow.length > 0 ? await followLinks(root, filter.follow) : [];
  const include = new IncludeFilter([...filter.include, ...followed]);
  const exclude = compileDockerPatterns(filter.exclude.filter((p) => p.trim() !== ""));
  const hasExceptions = filter.exclude.some((p) => p.trim().startsWith("!"));
  const out: WalkedEntry[] = [];
  // Hard links go as fsutil sends them: the first path of an inode as a file, later ones naming it.
  const firstPathOfInode = new Map<bigint, string>();
  const walk = async (dir: string, relDir: string): Promise<void> => {
    const names = (await readdir(dir)).sort(byteOrder);
    for (const name of names) {
      const rel = relDir === "" ? name : `${relDir}/${name}`;
      const abs = join(dir, name);
      const st = await lstat(abs, { bigint: true });
      const excluded = exclude.matches(rel);
      if (st.isDirectory()) {
        const selfIncluded = include.includes(rel) && !excluded;
        if (!selfIncluded && !include.mayContain(rel)) continue;
        if (excluded && !hasExceptions) continue;
        // A directory is sent when it is selected itself or when something under it is.
        const at = out.length;
        const entry = { abs, stat: await statOf(abs, rel, st) };
        out.push(entry);
        await walk(abs, rel);
        if (!selfIncluded && out.length === at + 1) out.pop();
        continue;
      }
      if (excluded || !include.includes(rel)) continue;
      const stat = await statOf(abs, rel, st);
      if (st.isFile() && st.nlink > 1n) {
        const first = firstPathOfInode.get(st.ino);
        if (first === undefined) firstPathOfInode.set(st.ino, rel);
        else {
          stat.linkname = first;
          stat.size = 0;
        }
      }
      out.push({ abs, stat });
    }
  };
  await walk(root, "");
  return out;
}
