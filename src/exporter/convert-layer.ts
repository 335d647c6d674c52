/**
 * Re-encodes a layer blob for an export: another compression (compression=zstd…) and/or file times clamped
 * to SOURCE_DATE_EPOCH (rewrite-timestamp=true). The result is a new blob in the store with its own digest
 * and, when times changed, its own diff_id. A layer that needs neither is returned as it is, so a base
 * image's layers stay shared with the registry they came from.
 *
 * Each conversion is remembered in a label on the source blob, so an identical second export (a cached
 * rebuild) costs a label read instead of a decompress and recompress.
 */
import { Readable } from "node:stream";
import type { ContentStore } from "../content/index.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { type Digest, isDigest } from "../oci/digest.ts";
import { compressor, decompressedLayer, detectCompression } from "../oci/layer/compression.ts";
import { DigestingStream } from "../oci/layer/digest-stream.ts";
import { type LayerCompression, layerCompression } from "../oci/media-types.ts";
import { clampTarTimes, hasTimesAfter } from "./clamp-tar.ts";
import { ociLayerMediaType } from "./layer-media-types.ts";
import type { BuiltLayer } from "./types.ts";

export interface ConvertOptions {
  /** Target compression; undefined keeps the layer's. */
  compression?: LayerCompression;
  level?: number;
  /** Clamp file times to this SOURCE_DATE_EPOCH (seconds). */
  clampMtime?: number;
}

const labelPrefix = "polyarch.io/export.";

export async function convertLayer(
  store: ContentStore,
  layer: BuiltLayer,
  options: ConvertOptions,
): Promise<BuiltLayer> {
  const source = await sourceCompression(store, layer.descriptor);
  const target = options.compression ?? source;
  if (target === source && options.clampMtime === undefined) return layer;

  const label = `${labelPrefix}${target}.${options.level ?? "default"}.${options.clampMtime ?? "keep"}`;
  const remembered = await recall(store, layer, label, target);
  if (remembered) return remembered;

  let clamp = options.clampMtime;
  if (clamp !== undefined && !(await hasTimesAfter(await tarOf(store, layer.descriptor), clamp))) {
    clamp = undefined;
  }
  let result: BuiltLayer;
  if (clamp === undefined && target === source) {
    result = layer;
  } else {
    result = await rewrite(store, layer, target, options.level, clamp);
  }
  await store.setLabels(layer.descriptor.digest, { [label]: `${result.descriptor.digest} ${result.diffId}` });
  return result;
}

async function sourceCompression(store: ContentStore, d: Descriptor): Promise<LayerCompression> {
  const named = layerCompression(d.mediaType);
  if (named) return named;
  const head = await store.readStream(d.digest, { start: 0, end: 5 });
  const chunks: Buffer[] = [];
  for await (const c of head) chunks.push(c as Buffer);
  const kind = detectCompression(Buffer.concat(chunks));
  return kind === "gzip" || kind === "zstd" ? kind : "none";
}

async function tarOf(store: ContentStore, d: Descriptor): Promise<Readable> {
  return decompressedLayer(await store.readStream(d.digest));
}

async function recall(
  store: ContentStore,
  layer: BuiltLayer,
  label: string,
  compression: LayerCompression,
): Promise<BuiltLayer | undefined> {
  const value = (await store.labels(layer.descriptor.digest))[label];
  const [digest = "", diffId = ""] = value?.split(" ") ?? [];
  if (!isDigest(digest) || !isDigest(diffId)) return undefined;
  if (digest === layer.descriptor.digest) return layer;
  const info = await store.info(digest);
  if (!info) return undefined; // collected since: convert again
  return { descriptor: { mediaType: ociLayerMediaType(compression), digest, size: info.size }, diffId };
}

async function rewrite(
  store: ContentStore,
  layer: BuiltLayer,
  compression: LayerCompression,
  level: number | undefined,
  clamp: number | undefined,
): Promise<BuiltLayer> {
  const tar = await tarOf(store, layer.descriptor);
  const body = clamp === undefined ? tar : Readable.from(clampTarTimes(tar, clamp), { objectMode: false });
  const hashing = new DigestingStream();
  body.on("error", (e) => hashing.destroy(e));
  let stream: Readable = body.pipe(hashing);
  const compress = compressor(compression, level === undefined ? {} : { level });
  if (compress) {
    hashing.on("error", (e) => compress.destroy(e));
    stream = hashing.pipe(compress);
  }
  const info = await store.write(undefined, stream, { where: `layer ${layer.descriptor.digest} (export)` });
  const diffId: Digest = hashing.digester.digest();
  return {
    descriptor: { mediaType: ociLayerMediaType(compression), digest: info.digest, size: info.size },
    diffId,
  };
}
