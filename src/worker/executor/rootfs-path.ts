import { chown, lstat, mkdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../../errors/user-error.ts";

const maxSymlinkHops = 255;

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/**
 * Maps a path inside a container's root filesystem to a host path, following symlinks as the container
 * would see them: an absolute link target and any `..` stay inside `root`. A rootfs comes from images we
 * do not trust, so a plain path.join that a link like /etc/passwd -> /../../host could escape is not safe.
 */
export async function resolveInRoot(root: string, containerPath: string): Promise<string> {
  const pending = containerPath.split("/").filter((p) => p !== "" && p !== ".");
  const done: string[] = [];
  let hops = 0;
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
    const host = join(root, ...done, part);
    let isLink = false;
    try {
      isLink = (await lstat(host)).isSymbolicLink();
    } catch (e) {
      if (!isMissing(e)) throw e;
      missing = true;
    }
    if (!isLink) {
      done.push(part);
      continue;
    }
    if (++hops > maxSymlinkHops) throw new Error(`too many levels of symbolic links in ${containerPath}`);
    const target = await readlink(host);
    if (target.startsWith("/")) done.length = 0;
    pending.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
  }
  return join(root, ...done);
}

/** Reads a file of the rootfs (symlinks resolved inside it), or undefined when it does not exist. */
export async function readRootfsFile(root: string, containerPath: string): Promise<string | undefined> {
  try {
    return await readFile(await resolveInRoot(root, containerPath), "utf8");
  } catch (e) {
    if (isMissing(e) || (e as NodeJS.ErrnoException).code === "EISDIR") return undefined;
    throw e;
  }
}

/**
 * Creates a directory of the rootfs and its missing parents, each new one owned by uid:gid with mode
 * 0755; existing ones are left as they are (BuildKit does the same for a missing WORKDIR).
 */
export async function mkdirInRoot(root: string, containerPath: string, uid: number, gid: number) {
  const parts = containerPath.split("/").filter((p) => p !== "" && p !== ".");
  for (let i = 1; i <= parts.length; i++) {
    const host = await resolveInRoot(root, parts.slice(0, i).join("/"));
    try {
      const st = await lstat(host);
      if (!st.isDirectory())
        throw new UserError(
          `cannot create directory ${containerPath}: /${parts.slice(0, i).join("/")} is not a directory`,
        );
      continue;
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
    await mkdir(host, { mode: 0o755 });
    await chown(host, uid, gid);
  }
}
