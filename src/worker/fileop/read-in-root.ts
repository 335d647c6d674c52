import { closeSync, readFileSync } from "node:fs";
import { openRegular } from "../../fsutil/open-regular.ts";
import { resolveInRoot } from "./root-path.ts";

/**
 * A text file of a tree (symlinks resolved inside it), or undefined when it is missing or not a regular
 * file. Only regular files are read: a hostile image's /etc/passwd could be a fifo (a hang) or a device
 * node (the host's disk).
 */
export function readFileInRoot(root: string, path: string): string | undefined {
  const f = openRegular(resolveInRoot(root, path).host);
  if (!f) return undefined;
  try {
    return readFileSync(f.fd, "utf8");
  } finally {
    closeSync(f.fd);
  }
}
