/**
 * `FROM NAME` / `COPY --from=NAME` where NAME is an image polyarch's image store keeps (a build's `-t NAME`):
 * used before any registry is asked, as a Docker user expects after `--load`. Only names that were stored
 * match; every other name (and a name pinned by digest) is resolved from its registry as before.
 */
import type { ContentStore } from "../content/types.ts";
import { UserError } from "../errors/user-error.ts";
import { findImage, imagePlatforms } from "../images/image-store.ts";
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
  const platforms = await imagePlatforms(store, stored.descriptor);
  const chosen = selectForPlatform(platforms, platform, (p) => p.platform);
  if (!chosen) {
    throw new UserError(
      `${stored.name} in polyarch's image store has no ${formatPlatform(platform)} image (it has ${platforms.map((p) => formatPlatform(p.platform)).join(", ")})`,
      {
        hint: `rebuild it with --platform ${formatPlatform(platform)}, or remove it (polyarch rmi ${stored.name}) to use the registry's`,
      },
    );
  }
  const manifest = parseManifest(await store.readBytes(chosen.manifest.digest), chosen.manifest.digest);
  const config = parseImageConfig(await store.readBytes(manifest.config.digest), manifest.config.digest);
  const { mediaType, digest, size } = chosen.manifest;
  return {
    root: stored.descriptor.digest,
    manifestDescriptor: { mediaType, digest, size },
    manifest,
    config,
  };
}
