import pLimit from "p-limit";
import type { ContentStore } from "../content/index.ts";
import { UserError } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { configPlatform, type ImageConfig, parseImageConfig } from "../oci/image-config.ts";
import type { ImageManifest } from "../oci/manifest.ts";
import { formatPlatform, type Platform, platformMatchRank } from "../oci/platform.ts";
import { pullBlob } from "./blob-transfer.ts";
import { formatReference, type ImageReference } from "./reference.ts";
import type { RegistryClients } from "./registry-clients.ts";
import { fetchByDescriptor, resolveReference, selectPlatformEntry } from "./resolve.ts";

/** One platform's image, stored locally: its manifest and config are parsed, its layers are in the store. */
export interface PulledImage {
  ref: ImageReference;
  platform: Platform;
  /** The reference's own descriptor (an index, or this manifest when the tag names a single image). */
  root: Descriptor;
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
}

export interface PullOptions {
  /** Only resolve manifest and config; leave layers in the registry (for planning, `--call`, inspect). */
  metadataOnly?: boolean;
  /** Reports each blob as it is found locally or fetched, for progress output. */
  onBlob?: (descriptor: Descriptor, outcome: "present" | "fetched") => void;
}

/**
 * Pulls what `platforms` need from `ref` into the store: for an index, the matching manifest of each
 * platform (best match by the shared platform matcher); for a single manifest, that image when its config's
 * platform can serve the request. Blobs move in parallel (bounded) and are verified before they are stored.
 */
export async function pullImage(
  clients: RegistryClients,
  store: ContentStore,
  ref: ImageReference,
  platforms: readonly Platform[],
  options: PullOptions = {},
): Promise<PulledImage[]> {
  const where = formatReference(ref);
  const resolved = await resolveReference(clients, ref);
  const repo = clients.repository(ref);
  await store.write({ digest: resolved.descriptor.digest, size: resolved.descriptor.size }, resolved.bytes, {
    where,
  });
  const limit = pLimit(clients.options.concurrency ?? 4);

  const images = await Promise.all(
    platforms.map(async (platform) => {
      let manifestDescriptor: Descriptor;
      let manifest: ImageManifest;
      if (resolved.manifest.kind === "index") {
        const entry = selectPlatformEntry(resolved.manifest.index.manifests, platform, where);
        const fetched = await fetchByDescriptor(clients, ref, entry);
        if (fetched.manifest.kind !== "manifest")
          throw new UserError(`${where}: nested indexes are not supported (entry ${entry.digest})`);
        await store.write({ digest: entry.digest, size: entry.size }, fetched.bytes, { where });
        manifestDescriptor = entry;
        manifest = fetched.manifest.manifest;
      } else {
        manifestDescriptor = resolved.descriptor;
        manifest = resolved.manifest.manifest;
      }
      await limit(() => pullBlob(repo, store, manifest.config)).then((o) =>
        options.onBlob?.(manifest.config, o),
      );
      const config = parseImageConfig(await store.readBytes(manifest.config.digest), `${where} config`);
      const actual = configPlatform(config);
      if (platformMatchRank(platform, actual) < 0) {
        throw new UserError(
          `${where} is a single-platform image for ${formatPlatform(actual)}, not ${formatPlatform(platform)}`,
          {
            hint: `it has: ${formatPlatform(actual)}; build for that platform, or use an image with an index that includes ${formatPlatform(platform)}`,
          },
        );
      }
      return {
        ref,
        platform,
        root: resolved.descriptor,
        manifestDescriptor,
        manifest,
        config,
      } satisfies PulledImage;
    }),
  );

  if (!options.metadataOnly) {
    const layers = new Map<string, Descriptor>();
    for (const image of images) for (const layer of image.manifest.layers) layers.set(layer.digest, layer);
    await Promise.all(
      [...layers.values()].map((layer) =>
        limit(async () => {
          if (layer.urls?.length && /foreign|nondistributable/.test(layer.mediaType)) return;
          const outcome = await pullBlob(repo, store, layer);
          options.onBlob?.(layer, outcome);
        }),
      ),
    );
  }
  return images;
}
