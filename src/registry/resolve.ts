import { UserError } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { type AnyManifest, parseAnyManifest } from "../oci/manifest.ts";
import { formatPlatform, type Platform, selectForPlatform } from "../oci/platform.ts";
import { formatReference, type ImageReference, manifestIdentifier } from "./reference.ts";
import type { RegistryClients } from "./registry-clients.ts";
import type { FetchedManifest } from "./repository-client.ts";

/** A reference resolved to the manifest or index it names, with the exact bytes the registry served. */
export interface ResolvedReference {
  ref: ImageReference;
  descriptor: Descriptor;
  bytes: Buffer;
  manifest: AnyManifest;
}

export async function resolveReference(
  clients: RegistryClients,
  ref: ImageReference,
): Promise<ResolvedReference> {
  return parseFetched(ref, await clients.repository(ref).getManifest(manifestIdentifier(ref)));
}

/** resolveReference, or undefined when the registry has no such tag or digest (one request either way). */
export async function resolveReferenceIfExists(
  clients: RegistryClients,
  ref: ImageReference,
): Promise<ResolvedReference | undefined> {
  const fetched = await clients.repository(ref).tryGetManifest(manifestIdentifier(ref));
  return fetched && parseFetched(ref, fetched);
}

function parseFetched(ref: ImageReference, fetched: FetchedManifest): ResolvedReference {
  const where = formatReference(ref);
  const manifest = parseAnyManifest(fetched.bytes, fetched.mediaType, where);
  const mediaType = manifest.kind === "index" ? manifest.index.mediaType : manifest.manifest.mediaType;
  return {
    ref,
    descriptor: { mediaType, digest: fetched.digest, size: fetched.bytes.length },
    bytes: fetched.bytes,
    manifest,
  };
}

/** Fetches a manifest named by a descriptor (an index entry), verifying it against the descriptor. */
export async function fetchByDescriptor(
  clients: RegistryClients,
  ref: ImageReference,
  descriptor: Descriptor,
): Promise<ResolvedReference> {
  const repo = clients.repository(ref);
  const fetched = await repo.getManifest(descriptor.digest);
  const where = `${formatReference({ ...ref, digest: descriptor.digest })}`;
  if (fetched.bytes.length !== descriptor.size) {
    throw new UserError(
      `${where}: manifest is ${fetched.bytes.length} bytes, its index says ${descriptor.size}`,
    );
  }
  const manifest = parseAnyManifest(fetched.bytes, descriptor.mediaType || fetched.mediaType, where);
  return { ref, descriptor: { ...descriptor, digest: fetched.digest }, bytes: fetched.bytes, manifest };
}

/** Entries of an index that describe runnable images (attestation manifests use platform unknown/unknown). */
export function imageEntries(manifests: readonly Descriptor[]): Descriptor[] {
  return manifests.filter(
    (d) => d.platform && d.platform.os !== "unknown" && d.platform.architecture !== "unknown",
  );
}

/**
 * Picks the manifest for `platform` from an index with the project's one platform matcher. When none fits,
 * the error lists what the index has, so the user can pick one.
 */
export function selectPlatformEntry(
  index: readonly Descriptor[],
  platform: Platform,
  where: string,
): Descriptor {
  const hit = selectForPlatform(imageEntries(index), platform, (d) => d.platform);
  if (hit) return hit;
  const available = imageEntries(index).map((d) => formatPlatform(d.platform!));
  throw new UserError(`${where} has no image for ${formatPlatform(platform)}`, {
    hint: available.length ? `it has: ${available.join(", ")}` : "its index lists no platforms",
  });
}
