/**
 * Opens a file of a tree that may be hostile only when it is a regular file: checked before opening
 * (opening some device nodes has effects of its own), opened O_NOFOLLOW|O_NONBLOCK (a link swapped in at the
 * name is refused; a fifo does not hang the open), and checked again on the open descriptor.
 * Undefined when the name is missing, not a regular file, or a link.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync } from "node:fs";

export function openRegular(host: string): { fd: number; size: number } | undefined {
  let fd: number;
  try {
    if (!lstatSync(host).isFile()) return undefined;
    fd = openSync(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP" || code === "ENXIO" || code === "EACCES")
      return undefined;
    throw e;
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    return undefined;
  }
  return { fd, size: st.size };
}
