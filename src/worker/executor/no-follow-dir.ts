import { closeSync, constants, openSync } from "node:fs";

/**
 * Directories of a tree a RUN step has written to, opened one component at a time with O_NOFOLLOW: a
 * symlink the step planted anywhere on the way (`/x -> /etc` on the host) makes the walk stop instead of
 * leading the clean-up out of the tree (BuildKit CVE-2024-23652). Node has no openat(), so each next
 * component is opened through the previous directory's /proc/self/fd entry, which the kernel resolves to
 * that very directory: nothing renamed or replaced meanwhile can redirect the walk.
 */

const flags = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** The path of `name` inside the directory open as `fd` (or of that directory itself). */
export function atDir(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

/** As atDir, for another process (a tool we spawn) to use while we hold `fd` open. */
export function atDirForChild(fd: number): string {
  return `/proc/${process.pid}/fd/${fd}`;
}

/**
 * Opens the directory `parts` below `root` (a trusted path: our own snapshot directory) without following
 * any link; undefined when a component is missing, is not a directory or is a symlink. Close it with
 * closeDir.
 */
export function openDirNoFollow(root: string, parts: readonly string[]): number | undefined {
  let fd: number;
  try {
    fd = openSync(root, flags);
  } catch {
    return undefined;
  }
  for (const part of parts) {
    if (part === "" || part === "." || part === ".." || part.includes("/")) {
      closeSync(fd);
      return undefined;
    }
    let next: number;
    try {
      next = openSync(atDir(fd, part), flags);
    } catch {
      closeSync(fd);
      return undefined;
    }
    closeSync(fd);
    fd = next;
  }
  return fd;
}

export function closeDir(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}
