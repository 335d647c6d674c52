/**
 * polyarch's local image store: images a build kept under a name (`-t NAME` without push, `-o type=image`),
 * as Docker keeps what `--load` gave it. A name is an image reference, normalised as Docker does
 * (`app` → `docker.io/library/app:latest`), never a path: it becomes a content-store ref under its own prefix,
 * whose file name is a hash. The blobs (index, manifests, configs, layers) live in the content store and
 * the refs keep them from its garbage collection.
 */
import type { ContentStore } from "../content/types.ts";
import { UserError } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { parseImageConfig } from "../oci/image-config.ts";
import { type ImageIndex, parseIndex, parseManifest, serializeIndex } from "../oci/manifest.ts";
import { isIndexMediaType, MediaType } from "../oci/media-types.ts";
import { formatPlatform, type Platform } from "../oci/platform.ts";
import { formatReference, parseReference } from "../registry/reference.ts";
import { imageEntries } from "../registry/resolve.ts";

const refPrefix = "polyarch.io/images/";
/** The referrers (OCI 1.1 artifacts with a `subject`) kept with a name, as one index of their descriptors. */
const referrersPrefix = "polyarch.io/image-referrers/";
const createdAnnotation = "io.polyarch.image.created";

export interface StoredImage {
  /** The normalised name (`docker.io/library/app:latest`). */
  name: string;
  /** The root: an index for several platforms, else one manifest. */
  descriptor: Descriptor;
  /** When it was stored (ISO 8601). */
  created: string;
}

/**
 * The normalised name of a user's NAME. A name with a digest is refused: a stored name is a tag, and the
 * digest is what it points at.
 */
export function imageName(text: string, where = text): string {
  let ref: ReturnType<typeof parseReference>;
  try {
    ref = parseReference(text);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${where}: ${e.message}`, { hint: e.hint });
    throw e;
  }
  if (ref.digest !== undefined) {
    throw new UserError(`${where}: a stored image is named by a tag, not a digest`, {
      hint: "write NAME[:TAG]; `polyarch images --digests` shows what each name points at",
    });
  }
  return formatReference({ registry: ref.registry, repository: ref.repository, tag: ref.tag ?? "latest" });
}

function strip(d: Descriptor): Descriptor {
  const { mediaType, digest, size } = d;
  return d.platform ? { mediaType, digest, size, platform: d.platform } : { mediaType, digest, size };
}

export async function storeImage(
  store: ContentStore,
  name: string,
  root: Descriptor,
  now = new Date(),
): Promise<StoredImage> {
  const normalised = imageName(name);
  const descriptor: Descriptor = {
    ...root,
    annotations: { ...root.annotations, [createdAnnotation]: now.toISOString() },
  };
  await store.setRef(refPrefix + normalised, descriptor);
  return toImage(normalised, descriptor);
}

/** The stored image of NAME, or undefined when polyarch keeps none under that name. */
export async function findImage(store: ContentStore, name: string): Promise<StoredImage | undefined> {
  const normalised = imageName(name);
  const d = await store.getRef(refPrefix + normalised);
  return d ? toImage(normalised, d) : undefined;
}

/** Like findImage, but a missing image is an error that says how to see what there is. */
export async function getImage(store: ContentStore, name: string): Promise<StoredImage> {
  const image = await findImage(store, name);
  if (!image) {
    throw new UserError(`no image ${imageName(name)} in polyarch's image store`, {
      hint: "`polyarch images` lists them; build one with polyarch build -t NAME",
    });
  }
  return image;
}

export async function listImages(store: ContentStore): Promise<StoredImage[]> {
  return (await store.listRefs())
    .filter((r) => r.name.startsWith(refPrefix))
    .map((r) => toImage(r.name.slice(refPrefix.length), r.descriptor));
}

export async function removeImage(store: ContentStore, name: string): Promise<StoredImage> {
  const image = await getImage(store, name);
  await store.deleteRef(refPrefix + image.name);
  await store.deleteRef(referrersPrefix + image.name);
  return image;
}

/**
 * Keeps the referrers of the image stored under NAME (attestations with style=referrers, which its index does
 * not list), so a later `polyarch push NAME` pushes them and `save` writes them; none drops what an earlier
 * image of that name had. The list is an OCI index blob (the referrers API's shape) whose ref keeps the
 * artifacts from garbage collection.
 */
export async function storeReferrers(
  store: ContentStore,
  name: string,
  referrers: readonly Descriptor[],
): Promise<void> {
  const key = referrersPrefix + imageName(name);
  if (referrers.length === 0) {
    await store.deleteRef(key);
    return;
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [...referrers] };
  const info = await store.write(undefined, serializeIndex(index));
  await store.setRef(key, { mediaType: MediaType.ociIndex, digest: info.digest, size: info.size });
}

/** The referrer manifests kept with NAME (empty when there are none). */
export async function storedReferrers(store: ContentStore, name: string): Promise<Descriptor[]> {
  const d = await store.getRef(referrersPrefix + imageName(name));
  if (!d) return [];
  return parseIndex(await store.readBytes(d.digest), d.digest).manifests;
}

function toImage(name: string, d: Descriptor): StoredImage {
  const { [createdAnnotation]: created, ...annotations } = d.annotations ?? {};
  const descriptor: Descriptor = { ...d };
  if (Object.keys(annotations).length) descriptor.annotations = annotations;
  else delete descriptor.annotations;
  return { name, descriptor, created: created ?? "" };
}

export interface ImagePlatform {
  platform: Platform;
  /** The platform's manifest. */
  manifest: Descriptor;
}

/** The real platforms of a stored image (attestation entries, `unknown/unknown`, left out). */
export async function imagePlatforms(store: ContentStore, root: Descriptor): Promise<ImagePlatform[]> {
  if (isIndexMediaType(root.mediaType)) {
    const index = parseIndex(await store.readBytes(root.digest), root.digest);
    return imageEntries(index.manifests).map((m) => ({ platform: m.platform!, manifest: strip(m) }));
  }
  const manifest = parseManifest(await store.readBytes(root.digest), root.digest);
  const config = parseImageConfig(await store.readBytes(manifest.config.digest), manifest.config.digest);
  const platform: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant) platform.variant = config.variant;
  return [{ platform, manifest: strip(root) }];
}

/** Bytes of every blob the image holds (each counted once), as `docker images` shows a size. */
export async function imageSize(store: ContentStore, root: Descriptor): Promise<number> {
  const seen = new Set<string>([root.digest]);
  let size = root.size;
  for (const { manifest } of await imagePlatforms(store, root)) {
    const m = parseManifest(await store.readBytes(manifest.digest), manifest.digest);
    for (const d of [manifest, m.config, ...m.layers]) {
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      size += d.size;
    }
  }
  return size;
}

export function describePlatforms(platforms: readonly ImagePlatform[]): string {
  return platforms.map((p) => formatPlatform(p.platform)).join(",");
}
