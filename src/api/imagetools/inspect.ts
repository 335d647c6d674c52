import type { Descriptor } from "../../oci/descriptor.ts";
import type { ImageIndex, ImageManifest } from "../../oci/manifest.ts";
import { formatReference, type ImageReference, parseReference } from "../../registry/reference.ts";
import type { RegistryClients } from "../../registry/registry-clients.ts";
import { type ResolvedReference, resolveReference } from "../../registry/resolve.ts";

/** What `imagetools inspect` reports: the reference's root and, for an index, each entry. */
export interface InspectResult {
  /** The reference, fully qualified (`docker.io/library/alpine:latest`). */
  name: string;
  ref: ImageReference;
  descriptor: Descriptor;
  /** The bytes exactly as the registry served them (`--raw`). */
  raw: Buffer;
  index?: ImageIndex;
  manifest?: ImageManifest;
  resolved: ResolvedReference;
}

export async function inspectImage(clients: RegistryClients, reference: string): Promise<InspectResult> {
  const ref = parseReference(reference);
  const resolved = await resolveReference(clients, ref);
  const result: InspectResult = {
    name: formatReference(ref),
    ref,
    descriptor: resolved.descriptor,
    raw: resolved.bytes,
    resolved,
  };
  if (resolved.manifest.kind === "index") result.index = resolved.manifest.index;
  else result.manifest = resolved.manifest.manifest;
  return result;
}
