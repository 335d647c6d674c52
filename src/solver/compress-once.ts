/**
 * One compression per diff: when two platforms' steps leave byte-identical changes (the same COPY onto
 * each platform's base), the second export hashes its tar (diff_id) and takes the blob the first one
 * compressed, instead of compressing the same bytes again. gzip of the same tar at the same level is the
 * same blob, so what is reused is exactly what would have been written.
 *
 * Hashing costs a pass over the layer's files without compression (a small part of gzip's cost), so it
 * is done only for layers big enough for a second compression to matter; smaller ones are written at
 * once (identical bytes still land on one blob in the store).
 */
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ContentStore } from "../content/types.ts";
import type { Digest } from "../oci/digest.ts";
import { DigestingStream } from "../oci/layer/digest-stream.ts";
import { type LayerTarOptions, layerTarStream } from "../oci/layer/tar-writer.ts";
import type { Change } from "../worker/layer/differ.ts";
import { tarItems } from "../worker/layer/export-layer.ts";

/** Below this many bytes of file content, compressing again is cheaper than hashing first. */
export const reuseThresholdBytes = 4 * 1024 * 1024;

export interface CompressedLayer {
  descriptor: { mediaType: string; digest: Digest; size: number };
  diffId: Digest;
}

/** Per content store (one state root): diff_id + compression → the blob, finished or being written. */
const byStore = new WeakMap<ContentStore, Map<string, Promise<CompressedLayer>>>();

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

/**
 * The blob for `changes` compressed as `compression`: one already made in this process for the same
 * diff_id, or `write()`'s. A write whose tar turns out to differ from the hash (the tree changed under
 * it) is not shared under that hash.
 */
export async function compressOnce(
  store: ContentStore,
  changes: readonly Change[],
  compression: string,
  write: () => Promise<CompressedLayer>,
): Promise<CompressedLayer> {
  if (contentBytes(changes) < reuseThresholdBytes) return write();
  const diffId = await diffIdOf(changes);
  const key = `${diffId} ${compression}`;
  let memo = byStore.get(store);
  if (!memo) {
    memo = new Map();
    byStore.set(store, memo);
  }
  const known = memo.get(key);
  if (known) {
    const layer = await known.catch(() => undefined);
    // The blob may have been collected since; then this export writes it again.
    if (layer && (await store.info(layer.descriptor.digest))) return layer;
  }
  const writing = write();
  memo.set(key, writing);
  try {
    const layer = await writing;
    if (layer.diffId !== diffId) memo.delete(key);
    return layer;
  } catch (e) {
    memo.delete(key);
    throw e;
  }
}
