/**
 * Pushing an OCI 1.1 artifact that has a `subject` (distribution spec, "Pushing Manifests with Subject"):
 * a registry with the referrers API answers the PUT with an `OCI-Subject` header and indexes it itself;
 * one without (distribution 2.8) does not, and the client keeps the referrers list under the tag schema
 * `<alg>-<hex>` of the subject: an index it fetches, adds the artifact's descriptor to, and puts back.
 */
import type { BlobProvider } from "../content/index.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { type Digest, digestAlgorithm, digestHex } from "../oci/digest.ts";
import { type ImageIndex, parseIndex, serializeIndex } from "../oci/manifest.ts";
import { MediaType } from "../oci/media-types.ts";
import { pushStoredBlob } from "./blob-transfer.ts";
import { formatReference, type ImageReference } from "./reference.ts";
import type { RegistryClients } from "./registry-clients.ts";

/** The fallback tag of a subject's referrers list: `sha256-<hex>`. */
export function referrersTag(subject: Digest): string {
  return `${digestAlgorithm(subject)}-${digestHex(subject)}`;
}

export interface ReferrerPush {
  /** "api": the registry took the subject itself; "tag": polyarch updated the referrers tag. */
  via: "api" | "tag";
}

/**
 * Pushes the artifact `artifact` (a manifest in the store, whose blobs are pushed first) by digest to
 * `target`'s repository, whose `subject` must already be there.
 */
export async function pushReferrer(
  clients: RegistryClients,
  store: BlobProvider,
  artifact: Descriptor,
  blobs: readonly Descriptor[],
  subject: Digest,
  target: ImageReference,
): Promise<ReferrerPush> {
  const repo = clients.repository(target);
  for (const b of blobs) await pushStoredBlob(repo, store, b);
  const bytes = await store.readBytes(artifact.digest);
  const put = await repo.putManifestResponse(artifact.digest, bytes, artifact.mediaType);
  if (put.subject === subject) return { via: "api" };
  const tag = referrersTag(subject);
  const existing = await repo.tryGetManifest(tag);
  let index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  if (existing) {
    index = parseIndex(existing.bytes, `${formatReference(target)} referrers tag ${tag}`);
  }
  const entry: Descriptor = { mediaType: artifact.mediaType, digest: artifact.digest, size: artifact.size };
  if (artifact.artifactType) entry.artifactType = artifact.artifactType;
  if (artifact.annotations) entry.annotations = artifact.annotations;
  if (!index.manifests.some((m) => m.digest === artifact.digest)) {
    index = { ...index, manifests: [...index.manifests, entry] };
    await repo.putManifest(tag, serializeIndex(index), MediaType.ociIndex);
  }
  return { via: "tag" };
}

/**
 * The manifests that name `subject` as theirs: from the referrers API, else from the referrers tag
 * (what a client without the API kept there), else none.
 */
export async function listReferrers(
  clients: RegistryClients,
  target: ImageReference,
  subject: Digest,
): Promise<Descriptor[]> {
  const repo = clients.repository(target);
  const where = `${formatReference(target)} referrers of ${subject}`;
  const api = await repo.referrersIndex(subject);
  if (api) return parseIndex(api, where).manifests;
  const tagged = await repo.tryGetManifest(referrersTag(subject));
  return tagged ? parseIndex(tagged.bytes, where).manifests : [];
}
