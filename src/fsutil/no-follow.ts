/**
 * Metadata changes that never follow a symlink. Node has lchown and lutimes, and our xattr binding uses
 * the l*xattr calls, but it has no lchmod on Linux: chmodSync follows a link, so a path that turned out
 * to be a symlink (a hostile archive's hard link to a link, say) would change the file it points at, on
 * the host. Every mode change of a path inside a rootfs goes through `chmodNoFollow`.
 *
 * The path is opened with O_PATH|O_NOFOLLOW, which pins the inode the name has now without opening the
 * file itself (so a fifo does not block and a device driver is not called), then the mode is set through
 * /proc/self/fd — what glibc's fchmodat(AT_SYMLINK_NOFOLLOW) does. A symlink is left as it is: Linux
 * links have no mode of their own.
 */
import { chmodSync, closeSync, constants, fstatSync, openSync } from "node:fs";

/** Linux's O_PATH, which Node's fs.constants does not list. */
const O_PATH = 0o10000000;

/** Sets the mode of `path` itself. Returns false (and changes nothing) when `path` is a symlink. */
export function chmodNoFollow(path: string, mode: number): boolean {
  const fd = openSync(path, O_PATH | constants.O_NOFOLLOW);
  try {
    if (fstatSync(fd).isSymbolicLink()) return false;
    chmodSync(`/proc/self/fd/${fd}`, mode);
    return true;
  } finally {
    closeSync(fd);
  }
}
