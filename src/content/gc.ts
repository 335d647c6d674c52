import type { Descriptor } from "../oci/descriptor.ts";
import { type Digest, isDigest } from "../oci/digest.ts";
import { type AnyManifest, parseAnyManifest } from "../oci/manifest.ts";
import { isIndexMediaType, isManifestMediaType } from "../oci/media-types.ts";
import type { LocalContentStore } from "./local-store.ts";
import { type BlobInfo, type GcOptions, type GcResult, gcRefLabelPrefix } from "./types.ts";

const hourMs = 60 * 60 * 1000;
const dayMs = 24 * hourMs;
/** A root given without a media type is read to see whether it is a manifest only up to this size. */
const sniffLimit = 4 * 1024 * 1024;

interface Pending {
  digest: Digest;
  /** undefined: unknown, sniff the bytes to see whether it is a manifest or index. */
  mediaType: string | undefined;
}

/**
 * Mark and sweep. Marking follows manifests and indexes (read with the oci/ parser) and gc.ref labels;
 * sweeping spares blobs younger than the grace period, which stand for writes whose reference is not
 * recorded yet (polyarch has no leases; the grace period plays their part).
 */
export async function collectGarbage(store: LocalContentStore, options: GcOptions): Promise<GcResult> {
  const startedAt = Date.now();
  const grace = options.gracePeriodMs ?? hourMs;
  const marked = new Set<Digest>();
  const queue: Pending[] = [];
  const push = (item: Digest | Descriptor) =>
    queue.push(typeof item === "string" ? { digest: item, mediaType: undefined } : item);

  for (const ref of await store.listRefs()) push(ref.descriptor);
  for (const root of options.roots ?? []) push(root);

  while (queue.length > 0) {
    const item = queue.pop()!;
    if (marked.has(item.digest)) continue;
    const info = await store.info(item.digest);
    if (!info) continue; // a reference to content this store never had (e.g. a layer of another platform)
    marked.add(item.digest);
    for (const child of await childrenOf(store, item, info)) push(child);
    for (const [key, value] of Object.entries(await store.labels(item.digest))) {
      if (key.startsWith(gcRefLabelPrefix) && isDigest(value)) push(value);
    }
  }

  const removed: BlobInfo[] = [];
  let freedBytes = 0;
  for await (const blob of store.listWithTimes()) {
    if (marked.has(blob.digest) || blob.mtimeMs > startedAt - grace) continue;
    if (options.dryRun || (await store.delete(blob.digest))) {
      removed.push({ digest: blob.digest, size: blob.size });
      freedBytes += blob.size;
    }
  }
  const ingestRemoved = options.dryRun ? 0 : await store.cleanupIngest(dayMs);
  return { kept: marked.size, removed, freedBytes, ingestRemoved };
}

async function childrenOf(store: LocalContentStore, item: Pending, info: BlobInfo): Promise<Descriptor[]> {
  const known = isIndexMediaType(item.mediaType) || isManifestMediaType(item.mediaType);
  if (!known && (item.mediaType !== undefined || info.size > sniffLimit)) return [];
  let parsed: AnyManifest;
  try {
    parsed = parseAnyManifest(await store.readBytes(item.digest, sniffLimit), item.mediaType, item.digest);
  } catch {
    // Not a manifest (a sniffed config or layer), or one we cannot read: nothing more to keep through it.
    return [];
  }
  if (parsed.kind === "index") {
    const { manifests, subject } = parsed.index;
    return subject ? [...manifests, subject] : manifests;
  }
  const { config, layers, subject } = parsed.manifest;
  return subject ? [config, ...layers, subject] : [config, ...layers];
}
