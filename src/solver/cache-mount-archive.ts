/**
 * The contents of a build's cache mounts, travelling with its cache (`--cache-to …,cache-mounts=true`).
 *
 * Each mount (id, and platform unless it is shared across platforms: cache-mount-key.ts) is one artifact
 * manifest in the cache's index (a layout's or a registry's, cache-layout.ts), beside the per-platform cache manifests: artifactType
 * `application/vnd.polyarch.cache-mount.v1`, an empty config, one gzip layer holding the directory's
 * tree (a deterministic layer tar), and the id and platform as annotations of the manifest and of its
 * index entry. A later `--cache-from` restores one into a cache directory that does not exist yet, when a
 * step first mounts it, so a fresh machine's `go build` / `apt` / `npm ci` steps start warm even when
 * their step cache misses.
 *
 * Entries read from a layout are untrusted: each is checked field by field, its blob is read only through
 * the layout's verifying reader, and it is unpacked by the worker's layer unpacker (no path out of the
 * directory, no device nodes, no fifos, no whiteouts, a bound on its size).
 */
import { lstat, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { BlobIngester } from "../content/types.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { type Digest, digestOf, isDigest } from "../oci/digest.ts";
import type { ImageIndex } from "../oci/manifest.ts";
import { MediaType } from "../oci/media-types.ts";
import { formatPlatform, parsePlatform } from "../oci/platform.ts";
import type { Worker } from "../worker/worker.ts";
import { type CacheMountKey, cacheMountDirName } from "./cache-mount-key.ts";
import type { VertexLocks } from "./vertex-lock.ts";

export const cacheMountArtifactType = "application/vnd.polyarch.cache-mount.v1";
export const cacheMountIdAnnotation = "polyarch.cache-mount.id";
export const cacheMountPlatformAnnotation = "polyarch.cache-mount.platform";
/** The most a cache mount's files may hold to travel, and the most an archive may unpack to (2 GiB). */
export const cacheMountMaxBytes = 2 * 1024 ** 3;
/** Longer ids are not ours (a Dockerfile's ids are paths or short names). */
const maxIdLength = 4096;
const maxManifestBytes = 64 * 1024;

/** One cache mount's contents, as a layout carries them. */
export interface CacheMountArchive {
  key: CacheMountKey;
  /** The gzip layer blob of its tree. */
  descriptor: Descriptor;
}

/** What an ImportedCache offers for cache mounts: an archive per directory name, read on demand. */
export interface CacheMountSeed {
  where: string;
  archive: CacheMountArchive;
  open(descriptor: Descriptor): Promise<Readable>;
}

const describe = (key: CacheMountKey) =>
  `cache mount id=${key.id}${key.platform === undefined ? "" : ` (${key.platform})`}`;

/**
 * Archives the directories of `keys` that exist under `root` (the solver's cache-mounts/ directory) into
 * `into`. A directory another build holds (a locked or private user) or that changes while it is read, or
 * that is over the bound, is left out with a warning: the cache is still written without it. A mount this
 * machine never made (its steps were cached) passes on what --cache-from had for it (`seeds`, copied into
 * `into` with its digest checked), so a chain of fresh CI machines keeps its cache mounts.
 */
export async function archiveCacheMounts(options: {
  root: string;
  keys: readonly CacheMountKey[];
  worker: Worker;
  into: BlobIngester;
  locks: VertexLocks;
  warn: (message: string) => void;
  seeds?: ReadonlyMap<string, CacheMountSeed>;
  maxBytes?: number;
}): Promise<CacheMountArchive[]> {
  const out: CacheMountArchive[] = [];
  for (const key of options.keys) {
    const name = cacheMountDirName(key);
    const dir = join(options.root, name);
    if (!(await isDirectory(dir))) {
      const seed = options.seeds?.get(name);
      if (seed) {
        const passed = await passOn(seed, options.into, options.warn);
        if (passed) out.push(passed);
      }
      continue;
    }
    // The lock its locked and private users hold: while another step has it, its files are changing.
    const lock = await options.locks.tryAcquire(`cache-${name}`);
    if (!lock) {
      options.warn(`--cache-to: ${describe(key)} is in use by another build; its contents are not exported`);
      continue;
    }
    try {
      const archived = await options.worker.archiveTree({
        dir,
        into: options.into,
        maxBytes: options.maxBytes ?? cacheMountMaxBytes,
      });
      if (archived) out.push({ key, descriptor: archived.descriptor });
    } catch (e) {
      options.warn(`--cache-to: ${describe(key)} is not exported: ${(e as Error).message}`);
    } finally {
      await lock.release();
    }
  }
  return out;
}

const isDirectory = (path: string) =>
  lstat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );

/** An imported archive, copied into the store (its digest checked as it streams) to be exported again. */
async function passOn(
  seed: CacheMountSeed,
  into: BlobIngester,
  warn: (message: string) => void,
): Promise<CacheMountArchive | undefined> {
  const d = seed.archive.descriptor;
  try {
    await into.write({ digest: d.digest, size: d.size }, await seed.open(d));
    return seed.archive;
  } catch (e) {
    warn(
      `--cache-to: ${describe(seed.archive.key)} from ${seed.where} is not passed on: ${(e as Error).message}`,
    );
    return undefined;
  }
}

function annotationsOf(key: CacheMountKey): Record<string, string> {
  return {
    [cacheMountIdAnnotation]: key.id,
    ...(key.platform === undefined ? {} : { [cacheMountPlatformAnnotation]: key.platform }),
  };
}

/**
 * The manifest of one mount's archive for a cache being written (cache-layout.ts): its empty config, the
 * manifest bytes, and its index entry (artifactType, platform, the id and platform as annotations: the
 * writer replaces an earlier entry of the same mount and keeps every other).
 */
export function cacheMountManifest({ key, descriptor }: CacheMountArchive): {
  config: { descriptor: Descriptor; bytes: Buffer };
  manifest: Buffer;
  entry: Descriptor;
} {
  const configBytes = Buffer.from("{}");
  const config: Descriptor = {
    mediaType: MediaType.ociEmpty,
    digest: digestOf(configBytes),
    size: configBytes.length,
  };
  const annotations = annotationsOf(key);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: cacheMountArtifactType,
      config,
      layers: [descriptor],
      annotations,
    }),
  );
  return {
    config: { descriptor: config, bytes: configBytes },
    manifest,
    entry: {
      mediaType: MediaType.ociManifest,
      digest: digestOf(manifest),
      size: manifest.length,
      artifactType: cacheMountArtifactType,
      ...(key.platform === undefined ? {} : { platform: parsePlatform(key.platform) }),
      annotations,
    },
  };
}

/** The cache mounts a layout's index lists; entries that do not hold up are left out. */
export async function readCacheMountManifests(
  index: ImageIndex,
  reader: { readBytes(descriptor: Descriptor, maxBytes: number): Promise<Buffer> },
): Promise<CacheMountArchive[]> {
  const out: CacheMountArchive[] = [];
  for (const m of index.manifests) {
    if (m.artifactType !== cacheMountArtifactType) continue;
    const key = checkedKey(m);
    if (!key) continue;
    let layer: Descriptor | undefined;
    try {
      layer = checkedManifest(await reader.readBytes(m, maxManifestBytes), key);
    } catch {
      continue; // missing or damaged: that mount starts empty
    }
    if (layer) out.push({ key, descriptor: layer });
  }
  return out;
}

/** The mount an index entry names, from its annotations: an id, and a normalised platform or none. */
function checkedKey(d: Descriptor): CacheMountKey | undefined {
  const a = d.annotations ?? {};
  const id = a[cacheMountIdAnnotation];
  if (typeof id !== "string" || id === "" || id.length > maxIdLength || id.includes("\u0000"))
    return undefined;
  const platform = a[cacheMountPlatformAnnotation];
  if (platform === undefined) return { id, platform: undefined };
  if (typeof platform !== "string") return undefined;
  try {
    if (formatPlatform(parsePlatform(platform)) !== platform) return undefined;
  } catch {
    return undefined;
  }
  return { id, platform };
}

/** The one gzip layer of a cache-mount manifest, when the manifest is one (and names `key`, if given). */
function checkedManifest(bytes: Buffer, key?: CacheMountKey): Descriptor | undefined {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof doc !== "object" || doc === null || doc.artifactType !== cacheMountArtifactType)
    return undefined;
  if (key) {
    const a = (doc.annotations ?? {}) as Record<string, unknown>;
    if (a[cacheMountIdAnnotation] !== key.id || a[cacheMountPlatformAnnotation] !== key.platform)
      return undefined;
  }
  const layers = doc.layers;
  if (!Array.isArray(layers) || layers.length !== 1) return undefined;
  const l = layers[0] as Record<string, unknown>;
  if (typeof l !== "object" || l === null) return undefined;
  const { digest, size, mediaType } = l;
  if (typeof digest !== "string" || !isDigest(digest) || !digest.startsWith("sha256:")) return undefined;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0 || size > cacheMountMaxBytes)
    return undefined;
  if (mediaType !== MediaType.ociLayerGzip) return undefined;
  return { mediaType, digest: digest as Digest, size };
}

/**
 * Fills `staging` (a fresh, empty directory) from a seed. A seed that cannot be used (damaged, hostile,
 * too big) leaves `staging` empty again and says why: the step then starts with an empty cache.
 */
export async function restoreCacheMount(
  seed: CacheMountSeed,
  staging: string,
  worker: Worker,
  warn: (message: string) => void,
): Promise<boolean> {
  try {
    await worker.unpackTree({
      blob: () => seed.open(seed.archive.descriptor),
      dir: staging,
      maxBytes: cacheMountMaxBytes,
    });
    return true;
  } catch (e) {
    warn(
      `--cache-from ${seed.where}: ${describe(seed.archive.key)} could not be restored (${(e as Error).message}); the step starts with an empty cache`,
    );
    // Whatever part was unpacked goes: nothing of a rejected archive reaches a step. rm never follows links.
    await rm(staging, { recursive: true, force: true });
    return false;
  }
}
