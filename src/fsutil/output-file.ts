/**
 * Writing an output file the user named (`-o type=oci|docker|tar,dest=F`, `save -o F`): readers of F see
 * the old file or the whole new one (a temp file beside it, synced, renamed into place), except when F is
 * a device or a pipe (`dest=/dev/null`, `/dev/stdout`, a fifo), which is written into as it is: renaming
 * over it would replace /dev/null for the whole machine with a regular file.
 */
import { createWriteStream } from "node:fs";
import { lstat, mkdir, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fsyncDir, uniqueSuffix } from "./atomic-file.ts";

export async function writeOutputFile(file: string, data: Readable): Promise<void> {
  const existing = await lstat(file).catch(() => undefined);
  if (existing && (existing.isCharacterDevice() || existing.isFIFO() || existing.isSocket())) {
    await pipeline(data, createWriteStream(file, { flags: "w" }));
    return;
  }
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${uniqueSuffix()}`;
  try {
    await pipeline(data, createWriteStream(tmp, { flags: "wx", flush: true }));
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fsyncDir(dirname(file));
}
