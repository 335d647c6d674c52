import { readFile } from "node:fs/promises";
import { mkdirAllInRoot, resolveInRoot as resolveRootPath } from "../fileop/root-path.ts";

/**
 * Maps a path inside a container's root filesystem to a host path, following symlinks as the container
 * would see them (an absolute link target and any `..` stay inside `root`). One resolver serves the
 * executor and the file ops: see fileop/root-path.ts.
 */
export async function resolveInRoot(root: string, containerPath: string): Promise<string> {
  return resolveRootPath(root, containerPath).host;
}

/** Reads a file of the rootfs (symlinks resolved inside it), or undefined when it does not exist. */
export async function readRootfsFile(root: string, containerPath: string): Promise<string | undefined> {
  try {
    return await readFile(resolveRootPath(root, containerPath).host, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
    throw e;
  }
}

/**
 * Creates a directory of the rootfs and its missing parents, each new one owned by uid:gid with mode
 * 0755; existing ones are left as they are (BuildKit does the same for a missing WORKDIR).
 */
export async function mkdirInRoot(
  root: string,
  containerPath: string,
  uid: number,
  gid: number,
): Promise<void> {
  mkdirAllInRoot(root, containerPath, 0o755, { uid, gid });
}
