/**
 * Layer tars with file times clamped to SOURCE_DATE_EPOCH (BuildKit's rewrite-timestamp): each entry is
 * read and written again with the same name, type, mode, owner, link, device numbers, xattrs and content,
 * and an mtime no later than the epoch. Entries stay in their order, so a layer written by our differ comes
 * out byte-identical apart from the clamped times.
 */
import { UserError } from "../errors/user-error.ts";
import type { LayerEntry } from "../oci/layer/entry.ts";
import { cleanLayerPath } from "../oci/layer/layer-path.ts";
import { readTar, type TarEntry } from "../oci/layer/tar-reader.ts";
import { encodeEntryHeader, type LayerTarOptions } from "../oci/layer/tar-writer.ts";

const blockSize = 512;
const endOfArchive = Buffer.alloc(2 * blockSize);

function options(epoch: number): LayerTarOptions {
  // Nanosecond precision keeps sub-second times a layer may have; only later ones change.
  return { clampMtime: epoch, mtimePrecision: "nanosecond" };
}

function needsClamp(entry: TarEntry, epoch: number): boolean {
  return entry.mtime.sec > epoch || (entry.mtime.sec === epoch && entry.mtime.nsec > 0);
}

/** Reads a whole tar to learn whether any entry is later than the epoch (cheaper than recompressing). */
export async function hasTimesAfter(tar: AsyncIterable<Uint8Array>, epoch: number): Promise<boolean> {
  let found = false;
  for await (const entry of readTar(tar)) {
    if (!found && needsClamp(entry, epoch)) found = true;
  }
  return found;
}

export async function* clampTarTimes(tar: AsyncIterable<Uint8Array>, epoch: number): AsyncGenerator<Buffer> {
  const opts = options(epoch);
  for await (const entry of readTar(tar)) {
    yield encodeEntryHeader(toLayerEntry(entry), opts);
    if (entry.type !== "file" || entry.size === 0) continue;
    for await (const chunk of entry.body) yield chunk;
    const rest = entry.size % blockSize;
    if (rest !== 0) yield Buffer.alloc(blockSize - rest);
  }
  yield endOfArchive;
}

function toLayerEntry(entry: TarEntry): LayerEntry {
  const cleaned = cleanLayerPath(entry.name);
  if (cleaned === null) {
    throw new UserError(`layer entry ${JSON.stringify(entry.name)} climbs out of the layer with ".."`, {
      hint: "the layer is malformed; rebuild it",
    });
  }
  const out: LayerEntry = {
    path: cleaned === "" ? "." : cleaned,
    type: entry.type,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    mtime: entry.mtime,
    size: entry.type === "file" ? entry.size : 0,
  };
  if (entry.linkname) out.linkname = entry.linkname;
  if (entry.type === "char" || entry.type === "block") {
    out.devmajor = entry.devmajor;
    out.devminor = entry.devminor;
  }
  if (entry.xattrs.size) out.xattrs = entry.xattrs;
  return out;
}
