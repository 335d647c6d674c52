import { join } from "node:path";
import { readXattr } from "../layer/xattrs.ts";

const opaqueMarker = "trusted.overlay.opaque";

/**
 * The directories among `dirs` (relative to `root`) that overlayfs marked opaque (trusted.overlay.opaque=y):
 * they hide whatever the layers beneath hold under them. Read in-process with lgetxattr (a final symlink
 * is never followed) rather than by a tar child: a spawn from the CLI's process cost more than every
 * other part of a file step, and a RUN step or a layered lookup asks once per directory it crosses.
 */
export async function opaqueDirectories(root: string, dirs: readonly string[]): Promise<Set<string>> {
  const opaque = new Set<string>();
  for (const rel of dirs) {
    let value: Buffer | null;
    try {
      value = readXattr(join(root, rel), opaqueMarker);
    } catch (err) {
      throw new Error(`reading the overlay marks of ${rel || "."} in ${root}: ${(err as Error).message}`);
    }
    if (value?.toString("latin1") === "y") opaque.add(rel);
  }
  return opaque;
}
