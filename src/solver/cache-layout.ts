/**
 * The build cache's format, the same wherever it lives (cache-storage.ts: an OCI layout directory for
 * `type=local`, a registry repository for `type=registry`).
 *
 * The top is an image index; it lists one artifact manifest per platform (artifactType
 * `application/vnd.polyarch.cache.v1`, platform set), whose config is a cache-config blob and whose layers
 * are the gzip blobs the config names. The config holds
 *  - `records`: layer cache key -> layer blob descriptor, diff_id, created (mode=min: the exported image's
 *    layers; a hit needs nothing but that one blob);
 *  - `chains` (mode=max): vertex cache key -> the layers that make its result's tree, bottom first, so a
 *    fresh machine gets every intermediate step of every stage without running it.
 * Writing keeps every manifest this write does not replace (other platforms', other artifact types' such as
 * cache-mount contents, keyed by artifactType, platform and annotations), so exporting one platform never
 * drops another's records.
 *
 * A cache handed to --cache-from is untrusted: every record is checked field by field (a key is a sha256
 * digest, a descriptor's digest is a digest and its size a non-negative integer), a blob is only ever named
 * by its digest (never a path taken from the file), and every byte read is verified against its digest.
 */
import type { Readable } from "node:stream";
import { UserError } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { type Digest, digestOf, isDigest } from "../oci/digest.ts";
import { inlineCacheKey } from "../oci/image-config.ts";
import type { ImageIndex } from "../oci/manifest.ts";
import { MediaType } from "../oci/media-types.ts";
import { formatPlatform, type Platform } from "../oci/platform.ts";
import type { LayerRecord } from "./cache-index.ts";
import {
  type CacheMountArchive,
  cacheMountArtifactType,
  cacheMountManifest,
  readCacheMountManifests,
} from "./cache-mount-archive.ts";
import type { CacheStorage } from "./cache-storage.ts";

export const cacheArtifactType = "application/vnd.polyarch.cache.v1";
export const cacheConfigMediaType = "application/vnd.polyarch.cache.config.v1+json";
/** A cache config holds small JSON records; a bigger one is not ours. */
const maxConfigBytes = 64 * 1024 * 1024;
/** A manifest of the cache index; anything bigger is refused before it is read. */
const maxManifestBytes = 4 * 1024 * 1024;
/** No real chain is this deep (overlay stops far below); a longer one is hostile. */
const maxChainLayers = 500;

/** One layer of a build, as the cache carries it: its layer cache key and what the index records for it. */
export interface CacheEntry {
  key: string;
  record: LayerRecord;
}

/** A layer of a result's tree. */
export interface ChainLayer {
  descriptor: Descriptor;
  diffId: Digest;
}

/** mode=max: a vertex's result as the layers that rebuild its tree, bottom first. */
export interface ChainEntry {
  key: string;
  layers: ChainLayer[];
  created?: string;
}

export interface PlatformCache {
  platform: Platform;
  entries: CacheEntry[];
  /** mode=max only. */
  chains?: ChainEntry[];
}

/** A cache read from where it lives: its records, and its blobs read (verified) only when asked for. */
export interface ImportedCache {
  /** Where it came from, for messages (`type=local,src=DIR`). */
  where: string;
  records: ReadonlyMap<string, LayerRecord>;
  /** mode=max records: vertex key -> the layers of its result. */
  chains: ReadonlyMap<string, ChainEntry>;
  /** The blob's bytes, verified as they stream (the stream fails before its end when they do not match). */
  open(descriptor: Descriptor): Promise<Readable>;
  /** Labels for a blob copied into the local store (where it came from, so a push can mount it). */
  labels?: Record<string, string>;
  /** Cache mounts' contents it carries (cache-mount-archive.ts). */
  mounts?: readonly CacheMountArchive[];
  /** Whether the blob is there (a HEAD), for a remote cache whose blobs may be left there until read. */
  has?(descriptor: Descriptor): Promise<boolean>;
}

/** Which existing manifest a new one replaces: same artifact type, platform and annotations. */
function slotOf(d: Descriptor): string {
  const annotations = Object.entries(d.annotations ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([d.artifactType ?? "", d.platform ? formatPlatform(d.platform) : "", annotations]);
}

/**
 * Writes (or merges into) the cache at `storage`; `blob` opens a layer blob of an entry. `mounts`: cache
 * mounts' archives to add (earlier ones of other mounts are kept either way).
 */
export async function writeCache(
  storage: CacheStorage,
  platforms: readonly PlatformCache[],
  blob: (descriptor: Descriptor) => Promise<Readable>,
  mounts: readonly CacheMountArchive[] = [],
): Promise<void> {
  const writer = storage.writer();
  const slots = new Map<string, Descriptor>();
  const old = await storage.readIndex().catch(() => undefined);
  for (const m of old?.manifests ?? []) {
    // Another platform's (or another kind's) manifest stays: its blobs are where they were, and it is named
    // again so that a layout's index never names what it did not write.
    try {
      writer.manifest(m, await storage.readBytes(m, maxManifestBytes), true);
      slots.set(slotOf(m), m);
    } catch {
      // A manifest that cannot be read any more is dropped rather than named.
    }
  }
  for (const p of platforms) {
    const layers = new Map<Digest, Descriptor>();
    const addLayer = (d: Descriptor) => {
      if (layers.has(d.digest)) return;
      layers.set(d.digest, { mediaType: d.mediaType, digest: d.digest, size: d.size });
      writer.blob(d, () => blob(d));
    };
    const records: unknown[] = [];
    for (const { key, record } of p.entries) {
      const created = record.created ? { created: record.created } : {};
      if (record.empty) {
        records.push({ key, empty: true, ...created });
        continue;
      }
      const d = record.descriptor;
      addLayer(d);
      records.push({ key, layer: plain(d), diffId: record.diffId, ...created });
    }
    const chains: unknown[] = [];
    for (const c of p.chains ?? []) {
      for (const l of c.layers) addLayer(l.descriptor);
      chains.push({
        key: c.key,
        layers: c.layers.map((l) => ({ ...plain(l.descriptor), diffId: l.diffId })),
        ...(c.created ? { created: c.created } : {}),
      });
    }
    const configBytes = Buffer.from(JSON.stringify({ records, ...(chains.length ? { chains } : {}) }));
    const config = {
      mediaType: cacheConfigMediaType,
      digest: digestOf(configBytes),
      size: configBytes.length,
    };
    writer.blob(config, configBytes);
    const manifestBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        artifactType: cacheArtifactType,
        config,
        layers: [...layers.values()],
      }),
    );
    const descriptor: Descriptor = {
      mediaType: MediaType.ociManifest,
      digest: digestOf(manifestBytes),
      size: manifestBytes.length,
      platform: p.platform,
      artifactType: cacheArtifactType,
    };
    writer.manifest(descriptor, manifestBytes, false);
    slots.set(slotOf(descriptor), descriptor);
  }
  for (const m of mounts) {
    const { config, manifest, entry } = cacheMountManifest(m);
    writer.blob(m.descriptor, () => blob(m.descriptor));
    writer.blob(config.descriptor, config.bytes);
    writer.manifest(entry, manifest, false);
    slots.set(slotOf(entry), entry);
  }
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [...slots.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, d]) => d),
  };
  const indexBytes = Buffer.from(JSON.stringify(index));
  await writer.commit(
    { mediaType: MediaType.ociIndex, digest: digestOf(indexBytes), size: indexBytes.length },
    indexBytes,
  );
}

function plain(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

/**
 * Reads a cache's records (all its platforms': a key names the platform it was made for, so another
 * platform's records never match by mistake). A place that holds no polyarch cache is a UserError; manifests
 * of other artifact types are skipped; records that do not hold up are dropped one by one.
 */
export async function readCache(storage: CacheStorage): Promise<ImportedCache> {
  const { where } = storage;
  const index = await storage.readIndex();
  if (
    !index?.manifests.some(
      (m) => m.artifactType === cacheArtifactType || m.artifactType === cacheMountArtifactType,
    )
  ) {
    const inline = await readInlineCache(storage);
    if (inline) return inline;

    throw new UserError("there is no polyarch build cache there", {
      hint: "give a cache written by --cache-to with the same type and place",
    });
  }
  const records = new Map<string, LayerRecord>();
  const chains = new Map<string, ChainEntry>();
  // Each platform's manifest and config are fetched at once (round trips, not bytes, are what costs), then
  // merged in index order so the result does not depend on which answered first.
  const configs = await Promise.all(index.manifests.map((m) => readCacheConfig(storage, m)));
  for (const config of configs) {
    if (Array.isArray(config?.records)) {
      for (const r of config.records) {
        const checked = checkRecord(r);
        if (checked) records.set(checked.key, checked.record);
      }
    }
    if (Array.isArray(config?.chains)) {
      for (const r of config.chains) {
        const checked = checkChain(r);
        if (checked) chains.set(checked.key, checked);
      }
    }
  }
  const [mounts, labels] = [await readCacheMountManifests(index, storage), storage.blobLabels?.()];
  return {
    where,
    records,
    chains,
    ...(mounts.length ? { mounts } : {}),
    open: (d) => storage.openBlob(d),
    ...(labels ? { labels } : {}),
    ...(storage.hasBlob ? { has: storage.hasBlob.bind(storage) } : {}),
  };
}

/** One platform manifest's cache config, or undefined when the entry is not one that holds up. */
async function readCacheConfig(
  storage: CacheStorage,
  m: Descriptor,
): Promise<{ records?: unknown; chains?: unknown } | undefined> {
  if (m.artifactType !== cacheArtifactType || m.mediaType !== MediaType.ociManifest) return undefined;
  if (!isDigest(m.digest) || !Number.isSafeInteger(m.size) || m.size > maxManifestBytes) return undefined;
  try {
    const manifest = JSON.parse((await storage.readBytes(m, maxManifestBytes)).toString("utf8")) as {
      config?: Descriptor;
    };
    const c = manifest?.config;
    if (typeof c !== "object" || c === null || c.mediaType !== cacheConfigMediaType) return undefined;
    if (typeof c.digest !== "string" || !isDigest(c.digest)) return undefined;
    if (!Number.isSafeInteger(c.size) || c.size < 0 || c.size > maxConfigBytes) return undefined;
    const bytes = await storage.readBytes(
      { mediaType: c.mediaType, digest: c.digest, size: c.size },
      maxConfigBytes,
    );
    return JSON.parse(bytes.toString("utf8")) as { records?: unknown; chains?: unknown };
  } catch {
    return undefined;
  }
}

/** The key inline cache records take in an image config (type=inline). */
export const inlineCacheField = inlineCacheKey;

/** type=inline: the records of the image's own layers, by diff_id (the manifest gives their blobs). */
export function inlineCacheRecords(entries: readonly CacheEntry[]): unknown[] {
  return entries.map(({ key, record }) => ({
    key,
    ...(record.empty ? { empty: true } : { diffId: record.diffId }),
    ...(record.created ? { created: record.created } : {}),
  }));
}

/**
 * Reads the inline caches of an image (each platform's config): a record's layer is the manifest's layer at
 * the position of its diff_id in rootfs.diff_ids, so only blobs the image itself lists are ever named.
 */
async function readInlineCache(storage: CacheStorage): Promise<ImportedCache | undefined> {
  if (!storage.readImages) return undefined;
  const records = new Map<string, LayerRecord>();
  let found = false;
  for (const image of await storage.readImages()) {
    let config: { rootfs?: { diff_ids?: unknown }; [inlineCacheField]?: unknown };
    try {
      config = JSON.parse(image.config.toString("utf8"));
    } catch {
      continue;
    }
    const list = config?.[inlineCacheField];
    const diffIds = config?.rootfs?.diff_ids;
    if (!Array.isArray(list) || !Array.isArray(diffIds)) continue;
    found = true;
    for (const r of list) {
      if (typeof r !== "object" || r === null) continue;
      const v = r as Record<string, unknown>;
      if (typeof v.key !== "string" || !keyPattern.test(v.key)) continue;
      const created = checkCreated(v.created);
      if (v.empty === true) {
        records.set(v.key, { empty: true, ...created });
        continue;
      }
      const at = typeof v.diffId === "string" ? diffIds.indexOf(v.diffId) : -1;
      const descriptor = at >= 0 ? checkLayer(image.layers[at]) : undefined;
      if (!descriptor) continue;
      records.set(v.key, { empty: false, descriptor, diffId: v.diffId as Digest, ...created });
    }
  }
  if (!found) return undefined;
  const labels = storage.blobLabels?.();
  return {
    where: storage.where,
    records,
    chains: new Map(),
    open: (d) => storage.openBlob(d),
    ...(labels ? { labels } : {}),
    ...(storage.hasBlob ? { has: storage.hasBlob.bind(storage) } : {}),
  };
}

const keyPattern = /^sha256:[0-9a-f]{64}$/;

function checkCreated(v: unknown): { created?: string } {
  return typeof v === "string" && v.length < 64 && !Number.isNaN(Date.parse(v)) ? { created: v } : {};
}

function checkLayer(layer: unknown): Descriptor | undefined {
  if (typeof layer !== "object" || layer === null) return undefined;
  const { digest, size, mediaType } = layer as Record<string, unknown>;
  if (typeof digest !== "string" || !isDigest(digest) || !digest.startsWith("sha256:")) return undefined;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (mediaType !== MediaType.ociLayerGzip && mediaType !== MediaType.dockerLayerGzip) return undefined;
  return { mediaType, digest: digest as Digest, size };
}

function checkRecord(r: unknown): CacheEntry | undefined {
  if (typeof r !== "object" || r === null) return undefined;
  const v = r as Record<string, unknown>;
  if (typeof v.key !== "string" || !keyPattern.test(v.key)) return undefined;
  const extra = checkCreated(v.created);
  if (v.empty === true) return { key: v.key, record: { empty: true, ...extra } };
  const descriptor = checkLayer(v.layer);
  if (!descriptor) return undefined;
  if (typeof v.diffId !== "string" || !keyPattern.test(v.diffId)) return undefined;
  return { key: v.key, record: { empty: false, descriptor, diffId: v.diffId as Digest, ...extra } };
}

function checkChain(r: unknown): ChainEntry | undefined {
  if (typeof r !== "object" || r === null) return undefined;
  const v = r as Record<string, unknown>;
  if (typeof v.key !== "string" || !keyPattern.test(v.key)) return undefined;
  if (!Array.isArray(v.layers) || v.layers.length > maxChainLayers) return undefined;
  const layers: ChainLayer[] = [];
  for (const l of v.layers) {
    const descriptor = checkLayer(l);
    const diffId = (l as Record<string, unknown> | null)?.diffId;
    if (!descriptor || typeof diffId !== "string" || !keyPattern.test(diffId)) return undefined;
    layers.push({ descriptor, diffId: diffId as Digest });
  }
  return { key: v.key, layers, ...checkCreated(v.created) };
}
