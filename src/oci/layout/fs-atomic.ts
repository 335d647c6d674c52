import { fsyncDir } from "../../fsutil/atomic-file.ts";

export { fsyncDir, uniqueSuffix as tempSuffix, writeFileAtomic } from "../../fsutil/atomic-file.ts";

export async function fsyncFile(path: string): Promise<void> {
  await fsyncDir(path); // opening read-only and fsyncing works the same for a file
}
