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
import { imagePlatforms, type StoredImage } from "./image-store.ts";

export interface ArchiveImage {
  platform: Platform;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageSelection {
  root: Descriptor;
  images: ArchiveImage[];
  index?: Descriptor;
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
  if (!isIndexMediaType(image.descriptor.mediaType)) return { root: image.descriptor, images };
  if (chosen.length === all.length) return { root: image.descriptor, images, index: image.descriptor };
  if (chosen.length === 1) {
    const { mediaType, digest, size } = chosen[0]!.manifest;
    return { root: { mediaType, digest, size }, images };
  }
  const original = parseIndex(await store.readBytes(image.descriptor.digest), image.descriptor.digest);
  const index: ImageIndex = { ...original, manifests: chosen.map((c) => c.manifest) };
  const bytes = serializeIndex(index);
  const info = await store.write(undefined, bytes);
  const root: Descriptor = { mediaType: image.descriptor.mediaType, digest: info.digest, size: info.size };
  return { root, images, index: root };
}
