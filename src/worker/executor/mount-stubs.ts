import { execFile } from "node:child_process";
import { fstatSync, lstatSync, readdirSync, rmdirSync, unlinkSync } from "node:fs";
import { promisify } from "node:util";
import { resolveInRoot } from "../fileop/root-path.ts";
import { atDir, atDirForChild, closeDir, openDirNoFollow } from "./no-follow-dir.ts";

const execFileAsync = promisify(execFile);

/**
 * runc creates an empty file or directory for every mount point the rootfs lacks (/proc, /etc/hosts, a
 * cache mount's target…). Left behind, they would end up in the step's layer although the step never
 * made them, so we note which mount points are missing before the run and remove the stubs after it
 * (only while they are still empty: a step may have put something there itself), then give the parent
 * directory back its modification time so that it does not look changed either. BuildKit does the same.
 *
 * The paths are resolved in the root before the run, as runc resolves them; after the run the tree is
 * the step's, so the clean-up follows no link at all (see no-follow-dir.ts) and leaves alone any stub
 * whose directories the step replaced.
 */
export interface MountStubs {
  /** Paths (components below the root) runc will create, deepest first. */
  paths: string[][];
  /** The existing directories those paths hang from: their mtime in nanoseconds and their entries. */
  parents: { parts: string[]; mtimeNs: bigint; names: string }[];
}

function components(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export async function findMissingMountPoints(
  root: string,
  destinations: readonly string[],
): Promise<MountStubs> {
  const missing = new Map<string, string[]>();
  const parents = new Map<string, MountStubs["parents"][number]>();
  for (const dest of destinations) {
    // Where runc will put the mount point: links in the image are followed inside the root.
    const parts = components(resolveInRoot(root, dest).logical);
    for (let i = 1; i <= parts.length; i++) {
      if (exists(`${root}/${parts.slice(0, i).join("/")}`)) continue;
      for (let j = parts.length; j >= i; j--) missing.set(parts.slice(0, j).join("/"), parts.slice(0, j));
      const parent = parts.slice(0, i - 1);
      const key = parent.join("/");
      if (!parents.has(key)) {
        const host = parent.length === 0 ? root : `${root}/${key}`;
        try {
          const { mtimeNs } = lstatSync(host, { bigint: true });
          parents.set(key, { parts: parent, mtimeNs, names: readdirSync(host).sort().join("\0") });
        } catch {
          // The parent vanished meanwhile; nothing to restore.
        }
      }
      break;
    }
  }
  const paths = [...missing.values()].sort((a, b) => b.length - a.length);
  return { paths, parents: [...parents.values()] };
}

/** Removes `name` from the open directory `fd` when it is an empty directory or an empty regular file. */
function removeIfEmptyStub(fd: number, name: string): void {
  const path = atDir(fd, name);
  try {
    const st = lstatSync(path);
    if (st.isDirectory()) rmdirSync(path);
    else if (st.isFile() && st.size === 0) unlinkSync(path);
  } catch {
    // Not there any more, or no longer empty: either way the step owns it now.
  }
}

/** Removes the stubs below `root` (components relative to it) that are still empty; follows no link. */
export function removeStubsNoFollow(root: string, stubs: readonly (readonly string[])[]): void {
  for (const parts of stubs) {
    if (parts.length === 0) continue;
    const fd = openDirNoFollow(root, parts.slice(0, -1));
    if (fd === undefined) continue;
    try {
      removeIfEmptyStub(fd, parts[parts.length - 1]!);
    } finally {
      closeDir(fd);
    }
  }
}

export async function removeMountStubs(root: string, stubs: MountStubs): Promise<void> {
  removeStubsNoFollow(root, stubs.paths);
  for (const { parts, mtimeNs, names } of stubs.parents) {
    const fd = openDirNoFollow(root, parts);
    if (fd === undefined) continue;
    try {
      const now = fstatSync(fd, { bigint: true });
      // Only when the step left the directory's entries as they were: otherwise its new mtime is real.
      if (now.mtimeNs === mtimeNs || readdirSync(atDir(fd)).sort().join("\0") !== names) continue;
      // Node's utimes rounds through a double; touch keeps the nanoseconds the differ compares. It is
      // given our descriptor of the directory, so no path the step controls is looked up again.
      const stamp = `@${mtimeNs / 1_000_000_000n}.${String(mtimeNs % 1_000_000_000n).padStart(9, "0")}`;
      await execFileAsync("touch", ["-m", "-d", stamp, atDirForChild(fd)]);
    } catch {
      // Best effort: a changed parent only makes the layer list one directory more.
    } finally {
      closeDir(fd);
    }
  }
}
