import type { ContentStore } from "../../content/index.ts";
import { UserError } from "../../errors/user-error.ts";
import type { Descriptor } from "../../oci/descriptor.ts";
import { type Digest, digestOf } from "../../oci/digest.ts";
import { configPlatform, parseImageConfig } from "../../oci/image-config.ts";
import { type ImageIndex, serializeIndex } from "../../oci/manifest.ts";
import { MediaType } from "../../oci/media-types.ts";
import { formatPlatform, type Platform, platformMatchRank, samePlatform } from "../../oci/platform.ts";
import { pullBlob } from "../../registry/blob-transfer.ts";
import { copyManifestTree } from "../../registry/copy.ts";
import { formatReference, type ImageReference, parseReference } from "../../registry/reference.ts";
import type { RegistryClients } from "../../registry/registry-clients.ts";
import { resolveReference, resolveReferenceIfExists } from "../../registry/resolve.ts";

export interface CreateIndexOptions {
  targets: readonly string[];
  sources: readonly string[];
  /** Keep the entries of the index the first target already points at. */
  append?: boolean;
  /** Only these platforms are taken from the sources. */
  platforms?: readonly Platform[];
  annotations?: Record<string, string>;
  /** Build and return the index without writing anything to a registry. */
  dryRun?: boolean;
  onStep?: (message: string) => void;
}

export interface CreateIndexResult {
  index: ImageIndex;
  bytes: Buffer;
  digest: Digest;
  /** Each entry with where it came from, in index order. */
  entries: { descriptor: Descriptor; source: ImageReference }[];
  replaced: { descriptor: Descriptor; by: ImageReference }[];
}

interface Entry {
  descriptor: Descriptor;
  source: ImageReference;
}

/**
 * `imagetools create`: one index from images and indexes that may live in other repositories or registries.
 * Entries' manifests and blobs are copied (mounted within a registry) into each target repository first; the
 * index is written last, so a tag never names an index whose parts are missing.
 */
export async function createIndex(
  clients: RegistryClients,
  store: ContentStore,
  options: CreateIndexOptions,
): Promise<CreateIndexResult> {
  if (options.targets.length === 0)
    throw new UserError("imagetools create needs at least one target", { hint: "add -t REGISTRY/REPO:TAG" });
  const targets = options.targets.map(parseReference);
  const sources = options.sources.map(parseReference);
  if (sources.length === 0 && !options.append)
    throw new UserError("imagetools create needs at least one source image", {
      hint: "name the images to combine after the options",
    });
  const step = options.onStep ?? (() => {});

  const entries: Entry[] = [];
  const replaced: CreateIndexResult["replaced"] = [];
  let sawDocker = false;
  let sawOci = false;
  const add = (e: Entry) => {
    if (entries.some((x) => x.descriptor.digest === e.descriptor.digest)) return;
    // A new image for a platform the index already serves replaces the old one, so a pull stays unambiguous.
    const clash =
      e.descriptor.platform &&
      entries.findIndex(
        (x) =>
          x.descriptor.platform &&
          isRealPlatform(x.descriptor.platform) &&
          samePlatform(x.descriptor.platform, e.descriptor.platform!),
      );
    if (clash !== undefined && clash >= 0) {
      replaced.push({ descriptor: entries[clash]!.descriptor, by: e.source });
      entries.splice(clash, 1);
    }
    entries.push(e);
  };

  if (options.append) {
    const first = targets[0]!;
    const existing = await resolveReferenceIfExists(clients, first);
    if (existing) {
      step(`appending to ${formatReference(first)} (${existing.descriptor.digest})`);
      for (const e of await entriesOf(clients, store, existing, first, undefined)) {
        noteType(e.descriptor.mediaType);
        entries.push(e);
      }
    }
  }
  for (const source of sources) {
    const resolved = await resolveReference(clients, source);
    const got = await entriesOf(clients, store, resolved, source, options.platforms);
    if (got.length === 0) {
      const has = (await entriesOf(clients, store, resolved, source, undefined)).flatMap((e) =>
        e.descriptor.platform ? [formatPlatform(e.descriptor.platform)] : [],
      );
      throw new UserError(
        `${formatReference(source)} has no image for ${options.platforms!.map(formatPlatform).join(", ")}`,
        {
          hint: `it has: ${has.join(", ") || "no platform-specific images"}; pick from those with --platform`,
        },
      );
    }
    for (const e of got) {
      noteType(e.descriptor.mediaType);
      add(e);
    }
  }
  function noteType(mediaType: string) {
    if (mediaType === MediaType.dockerManifest) sawDocker = true;
    else sawOci = true;
  }

  // A Docker manifest list can only hold Docker manifests; anything OCI makes it an OCI index.
  const mediaType = sawDocker && !sawOci ? MediaType.dockerManifestList : MediaType.ociIndex;
  const index: ImageIndex = { schemaVersion: 2, mediaType, manifests: entries.map((e) => e.descriptor) };
  if (options.annotations && Object.keys(options.annotations).length) {
    if (mediaType === MediaType.dockerManifestList)
      throw new UserError("annotations need an OCI index, but every source is a Docker manifest");
    index.annotations = options.annotations;
  }
  const bytes = serializeIndex(index);
  const digest = digestOf(bytes);
  const result: CreateIndexResult = { index, bytes, digest, entries, replaced };
  if (options.dryRun) return result;

  for (const target of targets) {
    for (const e of entries) {
      if (
        e.source.registry === target.registry &&
        e.source.repository === target.repository &&
        (await clients.repository(target).headManifest(e.descriptor.digest))
      )
        continue;
      step(
        `copying ${e.descriptor.digest} from ${formatReference(e.source)} to ${target.registry}/${target.repository}`,
      );
      await copyManifestTree(clients, store, e.source, e.descriptor, target);
    }
  }
  for (const target of targets) {
    await clients.repository(target).putManifest(target.tag ?? digest, bytes, mediaType);
    step(`pushed ${formatReference({ ...target, digest })}`);
  }
  return result;
}

function isRealPlatform(p: Platform): boolean {
  return p.os !== "unknown" && p.architecture !== "unknown";
}

/** The index entries a source contributes: its own entries for an index, one entry for a single image. */
async function entriesOf(
  clients: RegistryClients,
  store: ContentStore,
  resolved: Awaited<ReturnType<typeof resolveReference>>,
  source: ImageReference,
  platforms: readonly Platform[] | undefined,
): Promise<Entry[]> {
  const wanted = (p: Platform | undefined) =>
    !platforms?.length || (p !== undefined && platforms.some((w) => platformMatchRank(w, p) === 0));
  if (resolved.manifest.kind === "index") {
    return resolved.manifest.index.manifests
      .filter((d) => wanted(d.platform))
      .map((d) => ({ descriptor: d, source: { ...source, digest: d.digest } }));
  }
  // A single image: its platform comes from its config.
  const m = resolved.manifest.manifest;
  await pullBlob(clients.repository(source), store, m.config);
  const config = parseImageConfig(
    await store.readBytes(m.config.digest),
    `${formatReference(source)} config`,
  );
  const platform = configPlatform(config);
  if (!wanted(platform)) return [];
  return [
    {
      descriptor: { ...resolved.descriptor, platform },
      source: { ...source, digest: resolved.descriptor.digest },
    },
  ];
}
