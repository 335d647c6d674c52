/**
 * What `imagetools inspect --format` templates read beyond the root manifest, loaded as buildx's loader does:
 * every image's config (keyed by its normalised platform, `linux/arm/v7`), and the provenance and SBOM
 * predicates of the attestation manifests that point at an image (`vnd.docker.reference.digest`).
 * Registry data is untrusted: nesting and the number of manifests read are bounded.
 */
import type { ContentStore } from "../../content/index.ts";
import { UserError } from "../../errors/user-error.ts";
import type { Descriptor } from "../../oci/descriptor.ts";
import { isIndexMediaType, isManifestMediaType } from "../../oci/media-types.ts";
import { formatPlatform, type Platform } from "../../oci/platform.ts";
import { pullBlob } from "../../registry/blob-transfer.ts";
import { formatReference, type ImageReference } from "../../registry/reference.ts";
import { listReferrers } from "../../registry/referrers.ts";
import type { RegistryClients } from "../../registry/registry-clients.ts";
import { fetchByDescriptor, type ResolvedReference } from "../../registry/resolve.ts";

const maxDepth = 3;
const maxManifests = 512;
const referenceAnnotations = ["com.docker.reference.digest", "vnd.docker.reference.digest"];
const inTotoMediaType = "application/vnd.in-toto+json";
const spdxPredicate = "https://spdx.dev/Document";

export interface PlatformDetails {
  /** The image config as stored (parsed JSON, unknown fields kept). */
  config: unknown;
  /** The SLSA predicate of its provenance attestation, when it has one. */
  provenance?: unknown;
  /** SPDX predicates of its SBOM attestations, the first one and the rest. */
  sbom?: { SPDX: unknown; AdditionalSPDXs?: unknown[] };
}

/** Per platform (sorted by name), what the image serves. */
export type ImageDetails = Map<string, PlatformDetails>;

interface Scan {
  images: Map<string, { descriptor: Descriptor; manifest: Record<string, unknown> }>;
  /** image digest → the attestation manifests that refer to it */
  refs: Map<string, Record<string, unknown>[]>;
  fetched: number;
}

export async function loadImageDetails(
  clients: RegistryClients,
  store: ContentStore,
  ref: ImageReference,
  root: ResolvedReference,
): Promise<ImageDetails> {
  const scan: Scan = { images: new Map(), refs: new Map(), fetched: 0 };
  await visit(clients, store, ref, root, scan, 0);
  await visitReferrers(clients, ref, scan);
  const details: ImageDetails = new Map();
  for (const platform of [...scan.images.keys()].sort()) {
    const { descriptor, manifest } = scan.images.get(platform)!;
    const config = await readJsonBlob(clients, store, ref, manifest.config, "config");
    const entry: PlatformDetails = { config };
    for (const att of scan.refs.get(descriptor.digest) ?? []) {
      for (const layer of Array.isArray(att.layers) ? att.layers : []) {
        const type = (layer as Descriptor).annotations?.["in-toto.io/predicate-type"] ?? "";
        const mediaType = (layer as Descriptor).mediaType ?? "";
        if (mediaType !== inTotoMediaType && !/^application\/vnd\.in-toto\..*\+dsse$/.test(mediaType))
          continue;
        const isProvenance = type.startsWith("https://slsa.dev/provenance/");
        if (!isProvenance && type !== spdxPredicate) continue;
        if (isProvenance && entry.provenance !== undefined) continue;
        const statement = decodeDsse(
          await readJsonBlob(clients, store, ref, layer, "attestation"),
          mediaType,
        );
        const predicate = (statement as { predicate?: unknown } | null)?.predicate ?? null;
        if (isProvenance) entry.provenance = predicate;
        else if (!entry.sbom) entry.sbom = { SPDX: predicate };
        else entry.sbom.AdditionalSPDXs = [...(entry.sbom.AdditionalSPDXs ?? []), predicate];
      }
    }
    details.set(platform, entry);
  }
  return details;
}

async function visit(
  clients: RegistryClients,
  store: ContentStore,
  ref: ImageReference,
  node: ResolvedReference,
  scan: Scan,
  depth: number,
): Promise<void> {
  if (node.manifest.kind === "index") {
    if (depth >= maxDepth) {
      throw new UserError(`${formatReference(ref)}: indexes nest deeper than ${maxDepth} levels`);
    }
    for (const d of node.manifest.index.manifests) {
      if (!isIndexMediaType(d.mediaType) && !isManifestMediaType(d.mediaType)) continue;
      if (++scan.fetched > maxManifests) {
        throw new UserError(`${formatReference(ref)}: more than ${maxManifests} manifests to inspect`);
      }
      await visit(clients, store, ref, await fetchByDescriptor(clients, ref, d), scan, depth + 1);
    }
    return;
  }
  const manifest = JSON.parse(node.bytes.toString("utf8")) as Record<string, unknown>;
  const target = referenceAnnotations.map((k) => node.descriptor.annotations?.[k]).find(Boolean);
  if (target) {
    const list = scan.refs.get(target) ?? [];
    list.push(manifest);
    scan.refs.set(target, list);
    return;
  }
  let platform: Platform | undefined = node.descriptor.platform;
  if (!platform) {
    const config = (await readJsonBlob(clients, store, ref, manifest.config, "config")) as Partial<Platform>;
    platform = { os: String(config.os ?? ""), architecture: String(config.architecture ?? "") };
    if (typeof config.variant === "string" && config.variant) platform.variant = config.variant;
  }
  scan.images.set(formatPlatform(platform), { descriptor: node.descriptor, manifest });
}

/**
 * Attestations stored as OCI 1.1 referrers (polyarch's `style=referrers`) of an image that has none in
 * its index: the referrers API's list, or the referrers tag's, filtered to in-toto artifacts.
 */
async function visitReferrers(clients: RegistryClients, ref: ImageReference, scan: Scan): Promise<void> {
  for (const { descriptor } of scan.images.values()) {
    if (scan.refs.has(descriptor.digest)) continue;
    const found = await listReferrers(clients, ref, descriptor.digest);
    for (const d of found) {
      if (d.artifactType !== inTotoMediaType || !isManifestMediaType(d.mediaType)) continue;
      if (++scan.fetched > maxManifests) {
        throw new UserError(`${formatReference(ref)}: more than ${maxManifests} manifests to inspect`);
      }
      const node = await fetchByDescriptor(clients, ref, d);
      const manifest = JSON.parse(node.bytes.toString("utf8")) as Record<string, unknown>;
      const subject = (manifest.subject as { digest?: unknown } | undefined)?.digest;
      if (subject !== descriptor.digest) continue;
      const list = scan.refs.get(descriptor.digest) ?? [];
      list.push(manifest);
      scan.refs.set(descriptor.digest, list);
    }
  }
}

async function readJsonBlob(
  clients: RegistryClients,
  store: ContentStore,
  ref: ImageReference,
  descriptor: unknown,
  what: string,
): Promise<unknown> {
  const d = descriptor as Descriptor | undefined;
  if (!d || typeof d.digest !== "string" || typeof d.size !== "number") {
    throw new UserError(`${formatReference(ref)}: a manifest has no valid ${what} descriptor`);
  }
  await pullBlob(clients.repository(ref), store, d);
  const text = (await store.readBytes(d.digest)).toString("utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UserError(`${formatReference(ref)}@${d.digest}: the ${what} is not JSON`);
  }
}

/** An in-toto DSSE envelope carries the statement base64-encoded in `payload`. */
function decodeDsse(doc: unknown, mediaType: string): unknown {
  if (!mediaType.endsWith("+dsse")) return doc;
  const payload = (doc as { payload?: unknown } | null)?.payload;
  if (typeof payload !== "string") return null;
  try {
    return JSON.parse(Buffer.from(payload, "base64").toString("utf8")) as unknown;
  } catch {
    return null;
  }
}
