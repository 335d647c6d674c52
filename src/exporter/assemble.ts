/**
 * Image assembly: per platform the final config and a manifest, and across platforms an index, all written
 * to the content store. Everything is serialised deterministically, so the same layers, planner configs and
 * SOURCE_DATE_EPOCH give the same bytes and so the same index digest.
 */
import pLimit from "p-limit";
import type { ContentStore } from "../content/index.ts";
import { UserError } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { digestOf } from "../oci/digest.ts";
import { serializeImageConfig } from "../oci/image-config.ts";
import { type ImageIndex, type ImageManifest, serializeIndex, serializeManifest } from "../oci/manifest.ts";
import { MediaType } from "../oci/media-types.ts";
import { normalizePlatform, type Platform } from "../oci/platform.ts";
import { annotationsFor } from "./annotations.ts";
import { type AttestationManifest, writeAttestations } from "./attestation-manifests.ts";
import { convertLayer } from "./convert-layer.ts";
import { finalConfig } from "./final-config.ts";
import { manifestLayer } from "./layer-media-types.ts";
import type { ImageOptions } from "./output-spec.ts";
import type { BuiltImage, BuiltLayer, ExportAttestations } from "./types.ts";

/** What decides an assembly's bytes; two outputs with equal options share one assembly. */
export interface AssemblyOptions {
  ociMediaTypes: boolean;
  compression?: ImageOptions["compression"];
  compressionLevel?: number;
  forceCompression: boolean;
  rewriteTimestamp: boolean;
  epoch?: number;
  annotations: ImageOptions["annotations"];
  forceIndex: boolean;
  /** The build's attestations go with this image (in its index, or as referrers of its manifests). */
  attest: boolean;
}

export interface AssembledImage {
  platform: Platform;
  /** The manifest's descriptor, with the platform (as it appears in the index). */
  manifest: Descriptor;
  config: Descriptor;
  /** Layers as the manifest lists them. */
  layers: Descriptor[];
}

export interface Assembly {
  /** The index when there is one, else the single manifest (without platform). */
  root: Descriptor;
  images: AssembledImage[];
  index?: Descriptor;
  /** Attestation manifests: in the index (style index) or with a `subject` (style referrers). */
  attestations: AttestationManifest[];
  /** The index exists only to hold attestation manifests (one platform): the image is still one image. */
  indexForAttestations?: boolean;
}

export interface AssembleContext {
  store: ContentStore;
  now: Date;
  progress: (name: string) => (detail?: string) => void;
  attestations?: ExportAttestations;
}

export function assemblyOptions(
  image: ImageOptions,
  buildEpoch: number | undefined,
  forceIndex: boolean,
  attest = false,
) {
  const out: AssemblyOptions = {
    ociMediaTypes: image.ociMediaTypes,
    forceCompression: image.forceCompression,
    rewriteTimestamp: image.rewriteTimestamp,
    annotations: image.annotations,
    forceIndex,
    attest,
  };
  const epoch = image.sourceDateEpoch ?? buildEpoch;
  if (epoch !== undefined) out.epoch = epoch;
  if (image.compression !== undefined) out.compression = image.compression;
  if (image.compressionLevel !== undefined) out.compressionLevel = image.compressionLevel;
  if (image.rewriteTimestamp && epoch === undefined) {
    throw new UserError("rewrite-timestamp=true needs SOURCE_DATE_EPOCH", {
      hint: "set SOURCE_DATE_EPOCH in the environment or as --build-arg, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)",
    });
  }
  return out;
}

export async function assemble(
  images: readonly BuiltImage[],
  options: AssemblyOptions,
  ctx: AssembleContext,
): Promise<Assembly> {
  if (images.length === 0) throw new Error("exporter: no images to export");
  const layers = await convertLayers(images, options, ctx);
  const assembled: AssembledImage[] = [];
  for (const [i, image] of images.entries()) {
    assembled.push(await writeImage(image, layers[i]!, options, ctx));
  }
  const attestations =
    options.attest && ctx.attestations
      ? await writeAttestations(ctx.store, assembled, ctx.attestations, ctx.progress)
      : [];
  const inIndex = attestations.filter((a) => a.style === "index");
  if (images.length === 1 && !options.forceIndex && inIndex.length === 0) {
    checkNoIndexAnnotations(options);
    const only = assembled[0]!;
    const { platform: _p, ...root } = only.manifest;
    const rootAnnotations = annotationsFor(options.annotations, "index-descriptor");
    if (rootAnnotations) root.annotations = { ...root.annotations, ...rootAnnotations };
    return { root, images: assembled, attestations };
  }
  // As BuildKit: the platforms' images first, then their attestation manifests.
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: options.ociMediaTypes ? MediaType.ociIndex : MediaType.dockerManifestList,
    manifests: [...assembled.map((a) => a.manifest), ...inIndex.map((a) => a.manifest)],
  };
  const indexAnnotations = annotationsFor(options.annotations, "index");
  if (indexAnnotations) index.annotations = indexAnnotations;
  const indexDescriptor = await writeBlob(ctx, serializeIndex(index), index.mediaType, "manifest list");
  const root: Descriptor = { ...indexDescriptor };
  const rootAnnotations = annotationsFor(options.annotations, "index-descriptor");
  if (rootAnnotations) root.annotations = rootAnnotations;
  const out: Assembly = { root, images: assembled, index: indexDescriptor, attestations };
  if (images.length === 1 && !options.forceIndex) out.indexForAttestations = true;
  return out;
}

function checkNoIndexAnnotations(options: AssemblyOptions): void {
  if (options.annotations.some((a) => a.target === "index")) {
    throw new UserError("annotation-index.KEY is for an index, and a single-platform image has none", {
      hint: "use annotation.KEY (the manifest), or build several platforms",
    });
  }
}

/** The exported layers of every image: converted when the options ask, each distinct blob once. */
async function convertLayers(
  images: readonly BuiltImage[],
  options: AssemblyOptions,
  ctx: AssembleContext,
): Promise<BuiltLayer[][]> {
  const clamp = options.rewriteTimestamp ? options.epoch : undefined;
  const needed = options.compression !== undefined || clamp !== undefined;
  if (!needed) return images.map((img) => [...img.baseLayers, ...img.layers]);
  const done = ctx.progress(
    clamp !== undefined ? `rewriting layers with source-date-epoch ${clamp}` : "converting layers",
  );
  const limit = pLimit(2);
  const cache = new Map<string, Promise<BuiltLayer>>();
  const convert = (layer: BuiltLayer, isBase: boolean): Promise<BuiltLayer> => {
    const opts = {
      ...(options.compression !== undefined && (!isBase || options.forceCompression)
        ? { compression: options.compression }
        : {}),
      ...(options.compressionLevel !== undefined ? { level: options.compressionLevel } : {}),
      // Base layers are never rewritten: they stay shared with the registry they came from.
      ...(!isBase && clamp !== undefined ? { clampMtime: clamp } : {}),
    };
    const key = `${layer.descriptor.digest} ${JSON.stringify(opts)}`;
    let p = cache.get(key);
    if (!p) {
      p = limit(() => convertLayer(ctx.store, layer, opts));
      cache.set(key, p);
    }
    return p;
  };
  const out = await Promise.all(
    images.map((img) =>
      Promise.all([
        ...img.baseLayers.map((l) => convert(l, true)),
        ...img.layers.map((l) => convert(l, false)),
      ]),
    ),
  );
  done();
  return out;
}

async function writeImage(
  image: BuiltImage,
  layers: BuiltLayer[],
  options: AssemblyOptions,
  ctx: AssembleContext,
): Promise<AssembledImage> {
  const platform = normalizePlatform(image.platform);
  const newLayers = layers.slice(image.baseLayers.length);
  const configTimes = options.epoch === undefined ? { now: ctx.now } : { now: ctx.now, epoch: options.epoch };
  const config = finalConfig(image, newLayers, configTimes);
  const configType = options.ociMediaTypes ? MediaType.ociConfig : MediaType.dockerConfig;
  const configDescriptor = await writeBlob(ctx, serializeImageConfig(config), configType, "config");
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: options.ociMediaTypes ? MediaType.ociManifest : MediaType.dockerManifest,
    config: configDescriptor,
    layers: layers.map((l) => manifestLayer(l.descriptor, options.ociMediaTypes)),
  };
  const annotations = annotationsFor(options.annotations, "manifest", platform);
  if (annotations) manifest.annotations = annotations;
  const written = await writeBlob(ctx, serializeManifest(manifest), manifest.mediaType, "manifest");
  const descriptor: Descriptor = { ...written, platform };
  const descriptorAnnotations = annotationsFor(options.annotations, "manifest-descriptor", platform);
  if (descriptorAnnotations) descriptor.annotations = descriptorAnnotations;
  return { platform, manifest: descriptor, config: configDescriptor, layers: manifest.layers };
}

async function writeBlob(
  ctx: AssembleContext,
  bytes: Buffer,
  mediaType: string,
  what: string,
): Promise<Descriptor> {
  const digest = digestOf(bytes);
  const done = ctx.progress(`exporting ${what} ${digest}`);
  await ctx.store.write({ digest, size: bytes.length }, bytes);
  done();
  return { mediaType, digest, size: bytes.length };
}
