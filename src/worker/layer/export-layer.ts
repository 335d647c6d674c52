/**
 * Exports a step's changes as a compressed layer blob, in one streaming pass: the tar is hashed (diff_id)
 * as it is written, compressed, and the compressed bytes are hashed (the manifest's digest) on their way
 * to the sink. Nothing holds a file or the layer in memory.
 *
 * Several layers export concurrently through exportLayers: zlib compresses on libuv's thread pool, so
 * concurrent streams use the cores without worker threads (bench/layer-export.ts measures it).
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { availableParallelism } from "node:os";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pLimit from "p-limit";
import type { Descriptor } from "../../oci/descriptor.ts";
import type { Digest } from "../../oci/digest.ts";
import { type CompressOptions, compressor } from "../../oci/layer/compression.ts";
import { DigestingStream } from "../../oci/layer/digest-stream.ts";
import { type LayerTarItem, type LayerTarOptions, layerTarStream } from "../../oci/layer/tar-writer.ts";
import { type LayerCompression, MediaType } from "../../oci/media-types.ts";
import { type Change, computeChanges, type DiffOptions } from "./differ.ts";

export interface ExportLayerOptions extends DiffOptions, LayerTarOptions, CompressOptions {
  /** Default gzip. */
  compression?: LayerCompression;
  /** Where the blob goes; opened only when the layer is not empty. */
  sink: () => Writable | Promise<Writable>;
}

export type ExportedLayer =
  | { empty: true }
  | {
      empty: false;
      /** The blob as a manifest lists it. */
      descriptor: Descriptor;
      /** sha256 of the uncompressed tar, for the image config's rootfs.diff_ids. */
      diffId: Digest;
      uncompressedSize: number;
      entries: number;
    };

const mediaTypes: Record<LayerCompression, string> = {
  none: MediaType.ociLayer,
  gzip: MediaType.ociLayerGzip,
  zstd: MediaType.ociLayerZstd,
};

export function tarItems(changes: readonly Change[]): LayerTarItem[] {
  return changes.map((change) => {
    const item: LayerTarItem = { entry: change.entry };
    if (change.linkKey !== undefined) item.linkKey = change.linkKey;
    const source = change.source;
    if (source !== undefined) {
      const size = change.entry.size;
      item.open = () => readFileChunks(source, size);
    }
    return item;
  });
}

const chunkSize = 256 * 1024;

/**
 * A file's `size` bytes in chunks; O_NOFOLLOW because the walk saw a regular file here, never a link.
 * Each buffer is no bigger than what is left to read: a layer of many small files would otherwise allocate
 * two 256 KiB buffers per file (gigabytes for 20,000 files, and most of the export's time in garbage
 * collection). One byte is read past the end, so the tar writer sees a file that grew and refuses it.
 */
async function* readFileChunks(path: string, size: number): AsyncGenerator<Buffer> {
  const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    for (let left = size; left > 0; ) {
      const buffer = Buffer.allocUnsafe(Math.min(chunkSize, left));
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      left -= bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
    const more = Buffer.allocUnsafe(1);
    if ((await file.read(more, 0, 1, null)).bytesRead > 0) yield more;
  } finally {
    await file.close();
  }
}

/** Writes the layer for already computed changes (which must not be empty). */
export async function writeLayer(
  changes: readonly Change[],
  options: LayerTarOptions & CompressOptions & { compression?: LayerCompression; sink: Writable },
): Promise<Exclude<ExportedLayer, { empty: true }>> {
  const compression = options.compression ?? "gzip";
  const tar = layerTarStream(tarItems(changes), options);
  const uncompressed = new DigestingStream();
  const compressed = new DigestingStream();
  const zip = compressor(compression, options);
  if (zip === null) await pipeline(tar, uncompressed, options.sink);
  else await pipeline(tar, uncompressed, zip, compressed, options.sink);
  const diffId = uncompressed.digester.digest();
  const blob = zip === null ? uncompressed.digester : compressed.digester;
  return {
    empty: false,
    descriptor: {
      mediaType: mediaTypes[compression],
      digest: zip === null ? diffId : blob.digest(),
      size: blob.size,
    },
    diffId,
    uncompressedSize: uncompressed.digester.size,
    entries: changes.length,
  };
}

/** Diffs and writes one layer; an unchanged step gives `{ empty: true }` and opens no sink, as BuildKit skips such layers. */
export async function exportLayer(options: ExportLayerOptions): Promise<ExportedLayer> {
  const changes = await computeChanges(options);
  if (changes.length === 0) return { empty: true };
  return writeLayer(changes, { ...options, sink: await options.sink() });
}

/** Exports several layers at once (default: one per core), results in the order given. */
export async function exportLayers(
  jobs: readonly ExportLayerOptions[],
  concurrency = availableParallelism(),
): Promise<ExportedLayer[]> {
  const limit = pLimit(Math.max(1, concurrency));
  return Promise.all(jobs.map((job) => limit(() => exportLayer(job))));
}
