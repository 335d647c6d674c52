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
import {
  type ResolvedReference,
  resolveReference,
  resolveReferenceIfExists,
} from "../../registry/resolve.ts";
import { type IndexSource, resolveSources } from "./index-sources.ts";

/** An annotation on the index's entries (`manifest-descriptor:` / `manifest-descriptor[PLATFORM]:`). */
export interface DescriptorAnnotation {
  key: string;
  value: string;
  /** Only the entries of this platform. */
  platform?: Platform;
}

export interface CreateIndexOptions {
  /** Where the result is pushed; may be empty with dryRun. */
  targets: readonly string[];
  /**
   * References, bare digests (`sha256:…`, in the target's repository) or OCI descriptors as JSON (what
   * `-f FILE` holds), as buildx reads its sources.
   */
  sources: readonly string[];
  /** Keep the entries of the index the first target already points at. */
  append?: boolean;
  /** Only these platforms are taken from the sources. */
  platforms?: readonly Platform[];
  /** Annotations of the index itself. */
  annotations?: Record<string, string>;
  /** Annotations of the index's entries. */
  descriptorAnnotations?: readonly DescriptorAnnotation[];
  /**
   * With one single-platform source and nothing to add, false copies that manifest as it is instead of
   * wrapping it in an index (buildx's --prefer-index, true by default).
   */
  preferIndex?: boolean;
  /** Build and return the index without writing anything to a registry. */
  dryRun?: boolean;
  onStep?: (message: string) => void;
}

export interface CreateIndexResult {
  /** The index written; absent when a single manifest was copied as it is. */
  index?: ImageIndex;
  /** The bytes pushed (an index, or the copied source's own bytes). */
  bytes: Buffer;
  digest: Digest;
  mediaType: string;
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
 * index is written last, so a tag never names an index whose parts are missing. A single index source with
 * nothing to change is copied byte for byte (buildx's carbon copy), so its digest stays.
 */
export async function createIndex(
  clients: RegistryClients,
  store: ContentStore,
  options: CreateIndexOptions,
): Promise<CreateIndexResult> {
  if (options.targets.length === 0 && !options.dryRun)
    throw new UserError("imagetools create needs a target to push to", {
      hint: "add -t REGISTRY/REPO:TAG, or --dry-run to print the result",
    });
  const targets = options.targets.map(parseReference);
  if (options.sources.length === 0 && !options.append)
    throw new UserError("imagetools create needs at least one source image", {
      hint: "name the images to combine after the options, or give -f FILE",
    });
  const sources = resolveSources(options.sources, targets);
  const step = options.onStep ?? (() => {});
  const indexAnnotations = options.annotations ?? {};
  const descriptorAnnotations = options.descriptorAnnotations ?? [];
  const annotating = Object.keys(indexAnnotations).length > 0 || descriptorAnnotations.length > 0;

  const resolvedSources = await Promise.all(sources.map((s) => resolveReference(clients, s.ref)));

  // One source, nothing to add or filter: the source's own bytes, as buildx copies them.
  if (sources.length === 1 && !options.append && !annotating && !options.platforms?.length) {
    const only = resolvedSources[0]!;
    const copyAsIs = only.manifest.kind === "index" || options.preferIndex === false;
    if (copyAsIs && !sources[0]!.override) {
      const result: CreateIndexResult = {
        bytes: only.bytes,
        digest: only.descriptor.digest,
        mediaType: only.descriptor.mediaType,
        entries: [{ descriptor: only.descriptor, source: sources[0]!.ref }],
        replaced: [],
      };
      if (only.manifest.kind === "index") result.index = only.manifest.index;
      if (!options.dryRun)
        await push(
          clients,
          store,
          targets,
          result,
          [{ descriptor: only.descriptor, source: sources[0]!.ref }],
          step,
        );
      return result;
    }
  }

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
  const noteType = (mediaType: string) => {
    if (mediaType === MediaType.dockerManifest) sawDocker = true;
    else sawOci = true;
  };

  if (options.append) {
    const first = targets[0];
    if (!first) throw new UserError("--append needs a -t whose index to extend");
    const existing = await resolveReferenceIfExists(clients, first);
    if (existing) {
      step(`appending to ${formatReference(first)} (${existing.descriptor.digest})`);
      for (const e of await entriesOf(clients, store, existing, { ref: first, text: "" }, undefined)) {
        noteType(e.descriptor.mediaType);
        entries.push(e);
      }
    }
  }
  for (const [i, source] of sources.entries()) {
    const resolved = resolvedSources[i]!;
    const got = await entriesOf(clients, store, resolved, source, options.platforms);
    if (got.length === 0) {
      const has = (await entriesOf(clients, store, resolved, source, undefined)).flatMap((e) =>
        e.descriptor.platform ? [formatPlatform(e.descriptor.platform)] : [],
      );
      throw new UserError(
        `${formatReference(source.ref)} has no image for ${options.platforms!.map(formatPlatform).join(", ")}`,
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

  // A Docker manifest list can only hold Docker manifests; anything OCI makes it an OCI index.
  const mediaType = sawDocker && !sawOci ? MediaType.dockerManifestList : MediaType.ociIndex;
  if (annotating && mediaType === MediaType.dockerManifestList)
    throw new UserError("annotations need an OCI index, but every source is a Docker manifest", {
      hint: "drop --annotation, or combine OCI images",
    });
  for (const a of descriptorAnnotations) {
    for (const e of entries) {
      if (a.platform && !(e.descriptor.platform && samePlatform(a.platform, e.descriptor.platform))) continue;
      e.descriptor = { ...e.descriptor, annotations: { ...e.descriptor.annotations, [a.key]: a.value } };
    }
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType, manifests: entries.map((e) => e.descriptor) };
  if (Object.keys(indexAnnotations).length) index.annotations = { ...indexAnnotations };
  const bytes = serializeIndex(index);
  const result: CreateIndexResult = { index, bytes, digest: digestOf(bytes), mediaType, entries, replaced };
  if (!options.dryRun) await push(clients, store, targets, result, entries, step);
  return result;
}

/** Copies every entry into each target's repository, then writes the result under each target. */
async function push(
  clients: RegistryClients,
  store: ContentStore,
  targets: readonly ImageReference[],
  result: CreateIndexResult,
  entries: readonly Entry[],
  step: (message: string) => void,
): Promise<void> {
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
    // The copied entry of a carbon copy is the result itself: it is already there under its digest.
    await clients.repository(target).putManifest(target.tag ?? result.digest, result.bytes, result.mediaType);
    step(`pushed ${formatReference({ ...target, digest: result.digest })}`);
  }
}

function isRealPlatform(p: Platform): boolean {
  return p.os !== "unknown" && p.architecture !== "unknown";
}

/** The index entries a source contributes: its own entries for an index, one entry for a single image. */
async function entriesOf(
  clients: RegistryClients,
  store: ContentStore,
  resolved: ResolvedReference,
  source: IndexSource,
  platforms: readonly Platform[] | undefined,
): Promise<Entry[]> {
  const wanted = (p: Platform | undefined) =>
    !platforms?.length || (p !== undefined && platforms.some((w) => platformMatchRank(w, p) === 0));
  const override = source.override;
  if (override?.size !== undefined && override.size !== resolved.descriptor.size) {
    throw new UserError(
      `${source.text.trim().slice(0, 80)}: the descriptor says ${override.size} bytes, the registry has ${resolved.descriptor.size}`,
      { hint: "fix the size in the descriptor, or leave it out" },
    );
  }
  if (resolved.manifest.kind === "index" && !override) {
    return resolved.manifest.index.manifests
      .filter((d) => wanted(d.platform))
      .map((d) => ({ descriptor: d, source: { ...source.ref, digest: d.digest } }));
  }
  const descriptor: Descriptor = { ...resolved.descriptor };
  if (override?.mediaType) descriptor.mediaType = override.mediaType;
  if (override?.annotations) descriptor.annotations = override.annotations;
  let platform = override?.platform;
  if (!platform && resolved.manifest.kind === "manifest") {
    // A single image: its platform comes from its config.
    const m = resolved.manifest.manifest;
    await pullBlob(clients.repository(source.ref), store, m.config);
    platform = configPlatform(
      parseImageConfig(await store.readBytes(m.config.digest), `${formatReference(source.ref)} config`),
    );
  }
  if (platform) descriptor.platform = platform;
  if (!wanted(platform)) return [];
  return [{ descriptor, source: { ...source.ref, digest: resolved.descriptor.digest } }];
}
