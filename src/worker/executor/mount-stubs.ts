import { execFile } from "node:child_process";
import { lstat, readdir, rmdir, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { resolveInRoot } from "./rootfs-path.ts";

const execFileAsync = promisify(execFile);

/**
 * runc creates an empty file or directory for every mount point the rootfs lacks (/proc, /etc/hosts, a
 * cache mount's target…). Left behind, they would end up in the step's layer although the step never
 * made them, so we note which mount points are missing before the run and remove the stubs after it
 * (only while they are still empty: a step may have put something there itself), then give the parent
 * directory back its modification time so that it does not look changed either. BuildKit does the same.
 */
export interface MountStubs {
  /** Container paths runc will create, deepest first. */
  paths: string[];
  /** The existing directories those paths hang from: their mtime in nanoseconds and their entries. */
  parents: Map<string, { mtimeNs: bigint; names: string }>;
}

export async function findMissingMountPoints(
  root: string,
  destinations: readonly string[],
): Promise<MountStubs> {
  const missing: string[] = [];
  const parents: MountStubs["parents"] = new Map();
  for (const dest of destinations) {
    const parts = dest.split("/").filter((p) => p !== "" && p !== ".");
    for (let i = 1; i <= parts.length; i++) {
      const containerPath = `/${parts.slice(0, i).join("/")}`;
      try {
        await lstat(await resolveInRoot(root, containerPath));
      } catch {
        for (let j = parts.length; j >= i; j--) missing.push(`/${parts.slice(0, j).join("/")}`);
        const parent = `/${parts.slice(0, i - 1).join("/")}`;
        if (!parents.has(parent)) {
          try {
            const host = await resolveInRoot(root, parent);
            const { mtimeNs } = await lstat(host, { bigint: true });
            parents.set(parent, { mtimeNs, names: (await readdir(host)).sort().join("\0") });
          } catch {
            // The parent vanished meanwhile; nothing to restore.
          }
        }
        break;
      }
    }
  }
  const paths = [...new Set(missing)].sort((a, b) => b.split("/").length - a.split("/").length);
  return { paths, parents };
}

export async function removeMountStubs(root: string, stubs: MountStubs): Promise<void> {
  for (const stub of stubs.paths) {
    // Resolve only the parent: the stub itself must not be followed if the step replaced it with a link.
    const host = `${await resolveInRoot(root, dirname(stub))}/${stub.slice(stub.lastIndexOf("/") + 1)}`;
    try {
      const st = await lstat(host);
      if (st.isDirectory()) await rmdir(host);
      else if (st.isFile() && st.size === 0) await unlink(host);
    } catch {
      // Not there any more, or no longer empty: either way the step owns it now.
    }
  }
  for (const [parent, { mtimeNs, names }] of stubs.parents) {
    const host = await resolveInRoot(root, parent);
    try {
      const now = await lstat(host, { bigint: true });
      // Only when the step left the directory's entries as they were: otherwise its new mtime is real.
      if (now.mtimeNs === mtimeNs || (await readdir(host)).sort().join("\0") !== names) continue;
      // Node's utimes rounds through a double; touch keeps the nanoseconds the differ compares.
      const stamp = `@${mtimeNs / 1_000_000_000n}.${String(mtimeNs % 1_000_000_000n).padStart(9, "0")}`;
      await execFileAsync("touch", ["-m", "-h", "-d", stamp, host]);
    } catch {
      // Best effort: a changed parent only makes the layer list one directory more.
    }
  }
}
