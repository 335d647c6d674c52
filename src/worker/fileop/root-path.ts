/**
 * Paths inside a tree as if the tree were "/": every symlink met is followed, an absolute link target
 * restarts at the tree's root and ".." never climbs above it (containerd's fs.RootPath; openat2's
 * RESOLVE_IN_ROOT, which Node lacks). Sources and destinations of file ops come from images and contexts
 * we do not trust: a link such as `etc -> /../../host/etc` must never make a read or a write leave the tree.
 *
 * The calls are synchronous on purpose: nothing else writes into a snapshot while a file op runs, and no
 * await between a check and its use leaves room for a change.
 */
import { lchownSync, lstatSync, mkdirSync, readlinkSync, type Stats } from "node:fs";
import { UserError } from "../../errors/user-error.ts";
import { chmodNoFollow } from "../../fsutil/no-follow.ts";

/** Linux gives up after 40 links in one lookup; the same bound stops a symlink loop. */
const maxLinks = 40;

export const isRoot = process.getuid?.() === 0;

export interface RootPath {
  /** The host path. Its directories are real directories of the tree; the last name may not exist. */
  host: string;
  /** The same path as the tree sees it, clean and absolute ("/" for the root). */
  logical: string;
}

export interface Ids {
  uid: number;
  gid: number;
}

function components(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}

/** lstat, or undefined when the path (or a directory on the way) does not exist. */
export function lstatIfExists(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw e;
  }
}

/**
 * Resolves `path` inside `root` (an absolute path without symlinks). With `followFinal` false a symlink
 * in the last position is the result itself, as lstat sees it (for removing or replacing it).
 */
export function resolveInRoot(root: string, path: string, followFinal = true): RootPath {
  const pending = components(path);
  const done: string[] = [];
  let links = 0;
  let missing = false;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === "..") {
      done.pop();
      continue;
    }
    if (missing) {
      done.push(part);
      continue;
    }
    const host = `${root}/${[...done, part].join("/")}`;
    const stats = lstatIfExists(host);
    if (stats === undefined) missing = true;
    if (stats === undefined || !stats.isSymbolicLink() || (pending.length === 0 && !followFinal)) {
      done.push(part);
      continue;
    }
    if (++links > maxLinks) {
      throw new UserError(`too many levels of symbolic links in ${path}`, {
        hint: "the tree holds a symlink loop",
      });
    }
    const target = readlinkSync(host);
    if (target.startsWith("/")) done.length = 0;
    pending.unshift(...components(target));
  }
  return { host: done.length === 0 ? root : `${root}/${done.join("/")}`, logical: `/${done.join("/")}` };
}

/** The path the tree sees for a host path below its root. */
export function logicalPath(root: string, host: string): string {
  if (host === root) return "/";
  return host.startsWith(`${root}/`) ? host.slice(root.length) : host;
}

/**
 * Makes the directory `path` and its missing parents inside `root`, following symlinks as the tree
 * would. Each directory it creates gets `mode` and, when given, the owner; existing ones are left as
 * they are. Returns the host path of the directory. A non-directory in the way is a UserError.
 */
/** Told of each directory mkdirAllInRoot makes, and of the existing parent first (before the mkdir). */
export interface MadeDirs {
  touching(host: string): void;
  made(host: string): void;
}

export function mkdirAllInRoot(
  root: string,
  path: string,
  mode: number,
  owner?: Ids,
  observer?: MadeDirs,
): RootPath {
  let current: RootPath = { host: root, logical: "/" };
  for (const part of components(path)) {
    current = resolveInRoot(root, `${current.logical}/${part}`);
    // A link may point at a path several of whose directories are missing: each is made in turn. The
    // existing ones are real directories (resolution followed every link), the missing ones are new.
    let host = root;
    for (const name of components(current.logical)) {
      const parent = host;
      host = `${host}/${name}`;
      const stats = lstatIfExists(host);
      if (stats === undefined) {
        observer?.touching(parent);
        mkdirSync(host);
        // Set explicitly: mkdir's mode is masked by the process umask, which must not shape an image.
        if (owner && isRoot) lchownSync(host, owner.uid, owner.gid);
        chmodNoFollow(host, mode);
        observer?.made(host);
      } else if (!stats.isDirectory()) {
        throw new UserError(
          `cannot create directory ${cleanLogical(path)}: ${logicalPath(root, host)} is not a directory`,
          { hint: "a file stands where the path needs a directory; remove it first or pick another path" },
        );
      }
    }
  }
  return current;
}

export function cleanLogical(path: string): string {
  const out: string[] = [];
  for (const part of components(path)) {
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

/** The lexical parent of a path ("/" for "/" and for a top-level name); the path's links are not followed. */
export function parentPath(path: string): string {
  const clean = cleanLogical(path);
  return clean.slice(0, clean.lastIndexOf("/")) || "/";
}

/** True when `..` in a path climbs above its root (`/../etc`, `/a/../../b`), judged by the text alone. */
export function climbsOutOfRoot(path: string): boolean {
  let depth = 0;
  for (const part of components(path)) {
    depth += part === ".." ? -1 : 1;
    if (depth < 0) return true;
  }
  return false;
}
