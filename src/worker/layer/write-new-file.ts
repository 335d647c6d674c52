import { constants } from "node:fs";
import { open } from "node:fs/promises";

/**
 * Writes a file that must not exist yet, from a stream of chunks. O_EXCL|O_NOFOLLOW: whatever an archive put
 * at this path before (a symlink pointing out of the root, say) was removed by the caller, and if something
 * raced in since, the write fails instead of following it.
 */
export async function writeNewFile(target: string, body: AsyncIterable<Uint8Array>): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const file = await open(target, flags, 0o600);
  try {
    for await (const chunk of body) {
      let offset = 0;
      while (offset < chunk.length) {
        const { bytesWritten } = await file.write(chunk, offset, chunk.length - offset);
        offset += bytesWritten;
      }
    }
  } finally {
    await file.close();
  }
}
