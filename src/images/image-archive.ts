/**
 * What `polyarch save` writes: a stored image, or some of its platforms, in the shape the exporter's archive
 * writer takes (root, per-platform manifest/config/layers, the index when there is one). Choosing platforms
 * of an index makes a new index of just those (stored, so the archive's index.json can point at it).
 */
import type { ContentStore } from "../content/types.ts";
import { UserError } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { type ImageIndex, parseIndex, parseManifest, serializeIndex } from "../oci/manifest.ts";
import { isIndexMediaType } from "../oci/media-types.ts";
import { formatPlatform, type Platform, selectForPlatform } from "../oci/platform.ts";
import { imagePlatforms, type StoredImage, storedReferrers } from "./image-store.ts";

export interface ArchiveImage {
  platform: Platform;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

/**
 * An attestation manifest kept in a stored index, or a referrer kept with the name (as the exporter's assembly
 * describes one).
 */
export interface ArchiveAttestation {
  style: "index" | "referrers";
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  subject: Descriptor;
}

export interface ImageSelection {
  root: Descriptor;
  images: ArchiveImage[];
  index?: Descriptor;
  /** The stored index's attestation manifests, when the whole index is selected (they are its parts). */
  attestations: ArchiveAttestation[];
}

export async function selectPlatforms(
  store: ContentStore,
  image: StoredImage,
  wanted: readonly Platform[],
): Promise<ImageSelection> {
  const all = await imagePlatforms(store, image.descriptor);
  const chosen =
    wanted.length === 0
      ? all
      : wanted.map((p) => {
          const hit = selectForPlatform(all, p, (x) => x.platform);
          if (!hit) {
            throw new UserError(`${image.name} has no ${formatPlatform(p)} image`, {
              hint: `it has: ${all.map((x) => formatPlatform(x.platform)).join(", ")}`,
            });
          }
          return hit;
        });
  const images: ArchiveImage[] = [];
  for (const c of chosen) {
    const m = parseManifest(await store.readBytes(c.manifest.digest), c.manifest.digest);
    images.push({ platform: c.platform, manifest: c.manifest, config: m.config, layers: m.layers });
  }
  // The referrers of the chosen platforms go with them (an OCI layout lists them in index.json).
  const referrers = await referrersOf(
    store,
    image.name,
    chosen.map((c) => c.manifest),
  );
  if (!isIndexMediaType(image.descriptor.mediaType))
    return { root: image.descriptor, images, attestations: referrers };
  if (chosen.length === all.length) {
    const attestations = await storedAttestations(store, image.descriptor);
    return {
      root: image.descriptor,
      images,
      index: image.descriptor,
      attestations: [...attestations, ...referrers],
    };
  }
  if (chosen.length === 1) {
    const { mediaType, digest, size } = chosen[0]!.manifest;
    return { root: { mediaType, digest, size }, images, attestations: referrers };
  }
  const original = parseIndex(await store.readBytes(image.descriptor.digest), image.descriptor.digest);
  const index: ImageIndex = { ...original, manifests: chosen.map((c) => c.manifest) };
  const bytes = serializeIndex(index);
  const info = await store.write(undefined, bytes);
  const root: Descriptor = { mediaType: image.descriptor.mediaType, digest: info.digest, size: info.size };
  return { root, images, index: root, attestations: referrers };
}

/** The referrers kept with NAME whose subject is one of `subjects`. */
async function referrersOf(
  store: ContentStore,
  name: string,
  subjects: readonly Descriptor[],
): Promise<ArchiveAttestation[]> {
  const out: ArchiveAttestation[] = [];
  for (const d of await storedReferrers(store, name)) {
    const m = parseManifest(await store.readBytes(d.digest), d.digest);
    const subject = subjects.find((s) => s.digest === m.subject?.digest);
    if (subject) out.push({ style: "referrers", manifest: d, config: m.config, layers: m.layers, subject });
  }
  return out;
}

/** The attestation manifests (`vnd.docker.reference.type=attestation-manifest`) an index lists. */
async function storedAttestations(store: ContentStore, index: Descriptor): Promise<ArchiveAttestation[]> {
  const parsed = parseIndex(await store.readBytes(index.digest), index.digest);
  const out: ArchiveAttestation[] = [];
  for (const d of parsed.manifests) {
    const subject = d.annotations?.["vnd.docker.reference.digest"];
    if (d.annotations?.["vnd.docker.reference.type"] !== "attestation-manifest" || !subject) continue;
    if (!(await store.has(d.digest))) continue;
    const m = parseManifest(await store.readBytes(d.digest), d.digest);
    const image = parsed.manifests.find((x) => x.digest === subject);
    if (!image) continue;
    out.push({ style: "index", manifest: d, config: m.config, layers: m.layers, subject: image });
  }
  return out;
}
