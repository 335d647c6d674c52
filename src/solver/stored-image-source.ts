/**
 * `FROM NAME` / `COPY --from=NAME` where NAME is an image polyarch's image store keeps (a build's `-t NAME`):
 * used before any registry is asked, as a Docker user expects after `--load`. Only names that were stored
 * match; every other name (and a name pinned by digest) is resolved from its registry as before.
 */
import type { ContentStore } from "../content/types.ts";
import { UserError } from "../errors/user-error.ts";
import { findImage, imagePlatforms } from "../images/image-store.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { parseImageConfig } from "../oci/image-config.ts";
import { parseManifest } from "../oci/manifest.ts";
import { formatPlatform, type Platform, selectForPlatform } from "../oci/platform.ts";
import { parseReference } from "../registry/reference.ts";
import type { LocalImage } from "./image-resolver.ts";

export async function storedImageFor(
  store: ContentStore,
  ref: string,
  platform: Platform,
): Promise<LocalImage | undefined> {
  if (parseReference(ref).digest !== undefined) return undefined;
  const stored = await findImage(store, ref);
  if (!stored) return undefined;
  return imageFromRoot(store, stored.descriptor, platform, {
    what: `${stored.name} in polyarch's image store`,
    hint: `rebuild it with --platform ${formatPlatform(platform)}, or remove it (polyarch rmi ${stored.name}) to use the registry's`,
  });
}

/**
 * One platform's image of a root (an index or one manifest) whose blobs are all in the store: a stored
 * image, or an oci-layout:// context copied in before the build.
 */
export async function imageFromRoot(
  store: ContentStore,
  root: Descriptor,
  platform: Platform,
  missing: { what: string; hint: string },
): Promise<LocalImage> {
  const platforms = await imagePlatforms(store, root);
  const chosen = selectForPlatform(platforms, platform, (p) => p.platform);
  if (!chosen) {
    throw new UserError(
      `${missing.what} has no ${formatPlatform(platform)} image (it has ${platforms.map((p) => formatPlatform(p.platform)).join(", ")})`,
      { hint: missing.hint },
    );
  }
  const manifest = parseManifest(await store.readBytes(chosen.manifest.digest), chosen.manifest.digest);
  const config = parseImageConfig(await store.readBytes(manifest.config.digest), manifest.config.digest);
  const { mediaType, digest, size } = chosen.manifest;
  return {
    root: root.digest,
    manifestDescriptor: { mediaType, digest, size },
    manifest,
    config,
  };
}
