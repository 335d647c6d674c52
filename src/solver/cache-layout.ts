/**
 * The build cache as an OCI image layout (`--cache-to type=local,dest=DIR`, `--cache-from type=local,src=DIR`).
 *
 * index.json names one image index; it lists one artifact manifest per platform (artifactType
 * `application/vnd.polyarch.cache.v1`, platform set), whose config is a cache-config blob (records: layer
 * cache key -> layer blob descriptor, diff_id, created) and whose layers are the gzip blobs the records name.
 * Writing keeps the manifests of platforms this build did not make, so exporting one platform never drops
 * another's records.
 *
 * A layout handed to --cache-from is untrusted: every record is checked field by field (a key is a sha256
 * digest, a descriptor's digest is a digest and its size a non-negative integer), a blob is only ever named
 * by its digest (never a path taken from the file), and every byte read is verified against its digest.
 */
import type { Readable } from "node:stream";
import { UserError } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { type Digest, isDigest } from "../oci/digest.ts";
import { OciLayoutReader, OciLayoutWriter } from "../oci/layout/index.ts";
import type { ImageIndex } from "../oci/manifest.ts";
import { MediaType } from "../oci/media-types.ts";
import { formatPlatform, type Platform } from "../oci/platform.ts";
import type { LayerRecord } from "./cache-index.ts";
import {
  addCacheMountManifests,
  type CacheMountArchive,
  cacheMountArtifactType,
  readCacheMountManifests,
} from "./cache-mount-archive.ts";

export const cacheArtifactType = "application/vnd.polyarch.cache.v1";
export const cacheConfigMediaType = "application/vnd.polyarch.cache.config.v1+json";
const cacheRefName = "cache";
/** A cache config holds small JSON records; a bigger one is not ours. */
const maxConfigBytes = 64 * 1024 * 1024;

/** One layer of a build, as the cache carries it: its layer cache key and what the index records for it. */
export interface CacheEntry {
  key: string;
  record: LayerRecord;
}

export interface PlatformCache {
  platform: Platform;
  entries: CacheEntry[];
}

/** A cache read from a layout: its records, and its blobs read (verified) only when asked for. */
export interface ImportedCache {
  /** Where it came from, for messages (`type=local,src=DIR`). */
  where: string;
  records: ReadonlyMap<string, LayerRecord>;
  /** The blob's bytes, verified as they stream (the stream fails before its end when they do not match). */
  open(descriptor: Descriptor): Promise<Readable>;
  /** Cache mounts' contents it carries (cache-mount-archive.ts). */
  mounts?: readonly CacheMountArchive[];
}

/**
 * Writes (or merges into) the cache layout at `dir`; `blob` opens a layer blob of an entry. `mounts`:
 * cache mounts' archives to add (the layout's earlier ones are kept either way).
 */
export async function writeCacheLayout(
  dir: string,
  platforms: readonly PlatformCache[],
  blob: (descriptor: Descriptor) => Promise<Readable>,
  mounts: readonly CacheMountArchive[] = [],
): Promise<void> {
  const kept = new Map<string, { descriptor: Descriptor; reader: OciLayoutReader }>();
  const old = await readExisting(dir);
  if (old) {
    for (const m of old.index.manifests) {
      if (m.platform && m.artifactType !== cacheMountArtifactType)
        kept.set(formatPlatform(m.platform), { descriptor: m, reader: old.reader });
    }
  }
  const writer = new OciLayoutWriter();
  const manifests = new Map<string, Descriptor>();
  for (const [name, { descriptor, reader }] of kept) {
    // Another platform's manifest, config and layers stay: their blobs are already in the directory, but
    // the writer re-lists them so that index.json never names what it did not write.
    const manifest = await reader.readBytes(descriptor, maxConfigBytes);
    writer.addBlob(descriptor, manifest);
    manifests.set(name, descriptor);
  }
  for (const p of platforms) {
    const layers: Descriptor[] = [];
    const records: unknown[] = [];
    for (const { key, record } of p.entries) {
      if (record.empty) {
        records.push({ key, empty: true, ...(record.created ? { created: record.created } : {}) });
        continue;
      }
      const d = record.descriptor;
      writer.addBlob(d, () => blob(d));
      if (!layers.some((l) => l.digest === d.digest)) layers.push(d);
      records.push({
        key,
        layer: { mediaType: d.mediaType, digest: d.digest, size: d.size },
        diffId: record.diffId,
        ...(record.created ? { created: record.created } : {}),
      });
    }
    const config = writer.addBytes(Buffer.from(JSON.stringify({ records })), cacheConfigMediaType);
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: cacheArtifactType,
      config,
      layers,
    };
    const descriptor = writer.addBytes(Buffer.from(JSON.stringify(manifest)), MediaType.ociManifest);
    manifests.set(formatPlatform(p.platform), {
      ...descriptor,
      platform: p.platform,
      artifactType: cacheArtifactType,
    });
  }
  const mountEntries = await addCacheMountManifests(writer, mounts, blob, old);
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [
      ...[...manifests.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, d]) => d),
      ...mountEntries,
    ],
  };
  const indexDescriptor = writer.addBytes(Buffer.from(JSON.stringify(index)), MediaType.ociIndex);
  writer.addIndexEntry(indexDescriptor, { refName: cacheRefName });
  await writer.writeDirectory(dir, { replaceIndex: true });
}

async function readExisting(
  dir: string,
): Promise<{ index: ImageIndex; reader: OciLayoutReader } | undefined> {
  let reader: OciLayoutReader;
  try {
    reader = await OciLayoutReader.open(dir);
  } catch {
    return undefined;
  }
  try {
    const top = reader.resolve(cacheRefName);
    const doc = await reader.readManifest(top);
    return doc.kind === "index" ? { index: doc.index, reader } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads the records of a cache layout for `platforms` (all its platforms' records: a key names the
 * platform it was made for, so another platform's records never match by mistake). A layout that is not a
 * polyarch cache is a UserError; records that do not hold up are dropped one by one.
 */
export async function readCacheLayout(dir: string): Promise<ImportedCache> {
  const where = `type=local,src=${dir}`;
  const reader = await OciLayoutReader.open(dir);
  const existing = await readExisting(dir);
  if (!existing) {
    throw new UserError(`--cache-from ${where}: the layout holds no polyarch build cache`, {
      hint: "give a directory written by --cache-to type=local,dest=DIR",
    });
  }
  const records = new Map<string, LayerRecord>();
  for (const m of existing.index.manifests) {
    if (m.artifactType !== cacheArtifactType) continue;
    const doc = await reader.readManifest(m);
    if (doc.kind !== "manifest" || doc.manifest.config.mediaType !== cacheConfigMediaType) continue;
    const manifest = doc.manifest;
    const config = JSON.parse((await reader.readBytes(manifest.config, maxConfigBytes)).toString("utf8")) as {
      records?: unknown;
    };
    if (!Array.isArray(config?.records)) continue;
    for (const r of config.records) {
      const checked = checkRecord(r);
      if (checked) records.set(checked.key, checked.record);
    }
  }
  const mounts = await readCacheMountManifests(existing.index, reader);
  return {
    where,
    records,
    open: (d) => reader.readStream({ digest: d.digest, size: d.size }),
    ...(mounts.length ? { mounts } : {}),
  };
}

const keyPattern = /^sha256:[0-9a-f]{64}$/;

function checkRecord(r: unknown): CacheEntry | undefined {
  if (typeof r !== "object" || r === null) return undefined;
  const v = r as Record<string, unknown>;
  if (typeof v.key !== "string" || !keyPattern.test(v.key)) return undefined;
  const created =
    typeof v.created === "string" && !Number.isNaN(Date.parse(v.created)) ? v.created : undefined;
  const extra = created ? { created } : {};
  if (v.empty === true) return { key: v.key, record: { empty: true, ...extra } };
  const layer = v.layer as Record<string, unknown> | undefined;
  if (typeof layer !== "object" || layer === null) return undefined;
  const { digest, size, mediaType } = layer;
  if (typeof digest !== "string" || !isDigest(digest) || !digest.startsWith("sha256:")) return undefined;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (mediaType !== MediaType.ociLayerGzip && mediaType !== MediaType.dockerLayerGzip) return undefined;
  if (typeof v.diffId !== "string" || !isDigest(v.diffId)) return undefined;
  return {
    key: v.key,
    record: {
      empty: false,
      descriptor: { mediaType, digest: digest as Digest, size },
      diffId: v.diffId,
      ...extra,
    },
  };
}
