import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync } from "node:fs";
import { resolveInRoot } from "./root-path.ts";

/**
 * A text file of a tree (symlinks resolved inside it), or undefined when it is missing or not a regular
 * file. Only regular files are read: a hostile image's /etc/passwd could be a fifo (a hang) or a device
 * node (the host's disk).
 */
export function readFileInRoot(root: string, path: string): string | undefined {
  const { host } = resolveInRoot(root, path);
  let fd: number;
  try {
    // Checked before opening too: opening some device nodes has effects of its own.
    if (!lstatSync(host).isFile()) return undefined;
    fd = openSync(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP" || code === "ENXIO") return undefined;
    throw e;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}
