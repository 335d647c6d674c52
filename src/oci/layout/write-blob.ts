import { constants, createWriteStream } from "node:fs";
import { chmod, copyFile, stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { UserError } from "../../errors/user-error.ts";
import type { LayoutBlobInput } from "./blob-input.ts";
import { openSource, toReadable, VerifyingStream } from "./blob-source.ts";
import { fsyncFile } from "./fs-atomic.ts";

/**
 * Writes one blob to `target` (a new file, fsynced): a trusted file is copied (reflinked when possible),
 * a source is streamed through digest verification.
 */
export async function writeBlobFile(blob: LayoutBlobInput, target: string, where: string): Promise<void> {
  const { digest, size } = blob.descriptor;
  if (blob.path !== undefined) {
    await copyFile(blob.path, target, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    await chmod(target, 0o644); // the source may be a read-only store blob; the output is the user's
    const copied = (await stat(target)).size;
    if (copied !== size) {
      throw new UserError(`${where}: blob ${digest} at ${blob.path} is ${copied} bytes, expected ${size}`);
    }
    await fsyncFile(target);
    return;
  }
  if (blob.source === undefined) throw new Error(`layout blob ${digest} has neither a source nor a path`);
  const source = toReadable(await openSource(blob.source));
  await pipeline(
    source,
    new VerifyingStream({ digest, size }, `${where} blob ${digest}`),
    createWriteStream(target, { flags: "wx", mode: 0o644, flush: true }),
  );
}
