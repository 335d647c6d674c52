import { randomBytes } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";

/**
 * Where test fixtures that are slow to make (downloaded .debs, built image layouts) are kept between runs.
 * Shared by concurrent test processes, so everything in it is written to a temp name and renamed into place.
 */
export function testCacheDir(): string {
  return process.env.POLYARCH_TEST_CACHE || "/var/cache/polyarch-test";
}

export async function cacheSubdir(...parts: string[]): Promise<string> {
  const dir = join(testCacheDir(), ...parts);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** A fresh scratch path next to `finalPath`, on the same filesystem so a rename into place is atomic. */
export function scratchPathFor(finalPath: string): string {
  return `${finalPath}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/**
 * Moves a fully written file or directory into place. When another process got there first (a directory
 * rename fails with ENOTEMPTY/EEXIST), its copy is kept and ours is thrown away: both were built from the
 * same inputs, so either is right.
 */
export async function publish(scratch: string, finalPath: string): Promise<void> {
  try {
    await rename(scratch, finalPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e;
    await rm(scratch, { recursive: true, force: true });
  }
}
