/**
 * One compression per diff: when two platforms' steps leave byte-identical changes (the same COPY onto
 * each platform's base), the second export takes the blob the first one compressed instead of compressing
 * the same bytes again. gzip of the same tar at the same level is the same blob, so what is reused is
 * exactly what would have been written.
 *
 * The first export of a diff costs nothing extra: exports are grouped by a fingerprint of their changes'
 * metadata (paths, types, modes, owners, sizes, times, link targets), which needs no file read. Only an
 * export whose fingerprint another export already has hashes its tar (diff_id, no compression) to confirm
 * the bytes are the same before it takes that blob. Small layers are written at once: compressing them
 * again costs less than the hash (and identical bytes still land on one blob in the store).
 */
import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BlobIngester, BlobProvider } from "../../content/types.ts";
import type { Digest } from "../../oci/digest.ts";
import { DigestingStream } from "../../oci/layer/digest-stream.ts";
import { type LayerTarOptions, layerTarStream } from "../../oci/layer/tar-writer.ts";
import type { Change } from "./differ.ts";
import { tarItems } from "./export-layer.ts";

/** Below this many bytes of file content, compressing again is cheaper than hashing first. */
export const reuseThresholdBytes = 4 * 1024 * 1024;

export interface CompressedLayer {
  descriptor: { mediaType: string; digest: Digest; size: number };
  diffId: Digest;
}

/** Per content store (one state root): fingerprint + compression → the first export's blob, finished or being written. */
const byStore = new WeakMap<BlobIngester, Map<string, Promise<CompressedLayer>>>();

/** Whether the blob is still stored, where the store can say (a blob collected since is written again). */
async function stillStored(store: BlobIngester, digest: Digest): Promise<boolean> {
  const provider = store as Partial<BlobProvider>;
  return typeof provider.info === "function" ? (await provider.info(digest)) !== undefined : true;
}

export function contentBytes(changes: readonly Change[]): number {
  let total = 0;
  for (const c of changes) if (c.source !== undefined) total += c.entry.size;
  return total;
}

/** The sha256 of the layer tar these changes make, read and discarded (nothing is stored). */
export async function diffIdOf(changes: readonly Change[], options: LayerTarOptions = {}): Promise<Digest> {
  const hashing = new DigestingStream();
  const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  await pipeline(layerTarStream(tarItems(changes), options), hashing, discard);
  return hashing.digester.digest();
}

/** What the tar says of each entry apart from file bytes; equal for two platforms' copies of one COPY. */
export function metadataFingerprint(changes: readonly Change[]): string {
  const hash = createHash("sha256");
  for (const { entry: e, linkKey } of changes) {
    const xattrs = [...(e.xattrs ?? new Map())].map(([k, v]) => `${k}=${Buffer.from(v).toString("hex")}`);
    hash.update(
      JSON.stringify([
        e.path,
        e.type,
        e.mode,
        e.uid,
        e.gid,
        e.size,
        e.mtime.sec,
        e.linkname,
        linkKey !== undefined,
      ]),
    );
    hash.update(JSON.stringify([e.devmajor, e.devminor, xattrs]));
  }
  return hash.digest("hex");
}

/**
 * The blob for `changes` compressed as `compression`: one this process already made for a tar with the
 * same diff_id, or `write()`'s.
 */
export async function compressOnce(
  store: BlobIngester,
  changes: readonly Change[],
  compression: string,
  write: () => Promise<CompressedLayer>,
): Promise<CompressedLayer> {
  if (contentBytes(changes) < reuseThresholdBytes) return write();
  const key = `${metadataFingerprint(changes)} ${compression}`;
  let memo = byStore.get(store);
  if (!memo) {
    memo = new Map();
    byStore.set(store, memo);
  }
  const earlier = memo.get(key);
  if (earlier === undefined) {
    const writing = write();
    memo.set(key, writing);
    writing.catch(() => memo.delete(key));
    return writing;
  }
  const [diffId, layer] = await Promise.all([diffIdOf(changes), earlier.catch(() => undefined)]);
  // Same metadata but other bytes, or a blob collected since: this export writes its own.
  if (layer?.diffId === diffId && (await stillStored(store, layer.descriptor.digest))) return layer;
  return write();
}
