import pLimit from "p-limit";
import type { ContentStore } from "../content/index.ts";
import { UserError } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { pullBlob, pushStoredBlob } from "./blob-transfer.ts";
import { formatReference, type ImageReference } from "./reference.ts";
import type { RegistryClients } from "./registry-clients.ts";
import { fetchByDescriptor } from "./resolve.ts";

export interface CopyProgress {
  onBlob?: (descriptor: Descriptor, outcome: "exists" | "mounted" | "uploaded") => void;
}

/**
 * Copies a manifest (or an index and everything under it) from one repository to another by digest, bytes
 * unchanged so digests hold. Within one registry blobs are mounted (no bytes move); across registries they
 * stream through the local store, verified on the way in. Children are written before their parent.
 */
export async function copyManifestTree(
  clients: RegistryClients,
  store: ContentStore,
  source: ImageReference,
  descriptor: Descriptor,
  target: ImageReference,
  progress: CopyProgress = {},
): Promise<void> {
  const fetched = await fetchByDescriptor(clients, source, descriptor);
  const targetRepo = clients.repository(target);
  if (fetched.manifest.kind === "index") {
    for (const child of fetched.manifest.index.manifests)
      await copyManifestTree(clients, store, source, child, target, progress);
  } else {
    const m = fetched.manifest.manifest;
    const limit = pLimit(clients.options.concurrency ?? 4);
    await Promise.all(
      [m.config, ...m.layers].map((b) =>
        limit(() => copyBlob(clients, store, source, b, target).then((o) => progress.onBlob?.(b, o))),
      ),
    );
  }
  await targetRepo.putManifest(
    descriptor.digest,
    fetched.bytes,
    descriptor.mediaType || fetched.descriptor.mediaType,
  );
}

async function copyBlob(
  clients: RegistryClients,
  store: ContentStore,
  source: ImageReference,
  blob: Descriptor,
  target: ImageReference,
): Promise<"exists" | "mounted" | "uploaded"> {
  const targetRepo = clients.repository(target);
  if (await targetRepo.hasBlob(blob.digest, [targetRepo.pushScope])) return "exists";
  if (source.registry === target.registry && source.repository !== target.repository) {
    if (await targetRepo.mountBlob(blob.digest, source.repository)) return "mounted";
  }
  if (blob.urls?.length && /foreign|nondistributable/.test(blob.mediaType)) {
    throw new UserError(`cannot copy ${formatReference(source)}: layer ${blob.digest} is non-distributable`, {
      hint: "non-distributable (foreign) layers must be fetched from their URLs by the runtime; copy within one registry instead",
    });
  }
  await pullBlob(clients.repository(source), store, blob);
  // HEAD and the mount were tried above: the upload goes straight ahead.
  return pushStoredBlob(targetRepo, store, blob, { knownAbsent: true });
}
