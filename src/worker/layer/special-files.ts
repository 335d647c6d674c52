/**
 * Device nodes and fifos. Node has no mknod(2), so this runs coreutils' mknod; layers hold few such
 * entries (an overlay upperdir's whiteouts are the common case), so a process each is acceptable.
 * mknod(2) fails on an existing path, dangling symlinks included, so it never writes through a link.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export type SpecialKind = "char" | "block" | "fifo";

export async function makeSpecialFile(
  path: string,
  kind: SpecialKind,
  devmajor = 0,
  devminor = 0,
): Promise<void> {
  const args =
    kind === "fifo" ? [path, "p"] : [path, kind === "char" ? "c" : "b", String(devmajor), String(devminor)];
  try {
    await run("mknod", ["-m", "0600", ...args]);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`mknod ${args.join(" ")}: ${stderr || (err as Error).message}`);
  }
}

/** overlayfs's whiteout: a character device 0/0. */
export function isOverlayWhiteout(stats: { isCharacterDevice(): boolean; rdev: number | bigint }): boolean {
  return stats.isCharacterDevice() && Number(stats.rdev) === 0;
}
