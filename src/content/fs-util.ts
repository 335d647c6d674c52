export { fsyncDir, uniqueSuffix, writeFileAtomic } from "../fsutil/atomic-file.ts";

export function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === "ENOENT";
}
