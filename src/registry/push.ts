import pLimit from "p-limit";
import type { BlobProvider } from "../content/index.ts";
import { UserError } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import type { Digest } from "../oci/digest.ts";
import { parseAnyManifest } from "../oci/manifest.ts";
import { pushStoredBlob } from "./blob-transfer.ts";
import { formatReference, type ImageReference } from "./reference.ts";
import type { RegistryClients } from "./registry-clients.ts";

export interface PushProgress {
  onBlob?: (descriptor: Descriptor, outcome: "exists" | "mounted" | "uploaded") => void;
  onManifest?: (descriptor: Descriptor, reference: string) => void;
}

export interface PushResult {
  ref: ImageReference;
  descriptor: Descriptor;
  blobs: { exists: number; mounted: number; uploaded: number };
}

/**
 * Pushes an image or index from the store to `target`. Order matters for users pulling concurrently: all
 * blobs first, then each platform's manifest by digest, then the root under the tag — so the tag never
 * points at something whose parts are missing, even if the push is cut off half-way.
 */
export async function pushImage(
  clients: RegistryClients,
  store: BlobProvider,
  root: Descriptor,
  target: ImageReference,
  progress: PushProgress = {},
): Promise<PushResult> {
  const repo = clients.repository(target);
  const where = formatReference(target);
  if (target.digest && target.digest !== root.digest) {
    throw new UserError(
      `cannot push ${where}: the reference names digest ${target.digest} but the image is ${root.digest}`,
    );
  }
  const manifests: Descriptor[] = []; // children before parents
  const blobs = new Map<Digest, Descriptor>();

  const visit = async (d: Descriptor): Promise<void> => {
    if (!(await store.has(d.digest))) {
      throw new UserError(`cannot push ${where}: ${d.mediaType} ${d.digest} is not in the local store`, {
        hint: "build or pull the image again",
      });
    }
    const parsed = parseAnyManifest(await store.readBytes(d.digest), d.mediaType, `${where} ${d.digest}`);
    if (parsed.kind === "index") {
      for (const child of parsed.index.manifests) await visit(child);
    } else {
      blobs.set(parsed.manifest.config.digest, parsed.manifest.config);
      for (const layer of parsed.manifest.layers) blobs.set(layer.digest, layer);
    }
    manifests.push(d);
  };
  await visit(root);

  const counts = { exists: 0, mounted: 0, uploaded: 0 };
  const limit = pLimit(clients.options.concurrency ?? 4);
  await Promise.all(
    [...blobs.values()].map((b) =>
      limit(async () => {
        if (!(await store.has(b.digest))) {
          throw new UserError(`cannot push ${where}: blob ${b.digest} is not in the local store`, {
            hint: "pull or build the image again",
          });
        }
        const outcome = await pushStoredBlob(repo, store, b);
        counts[outcome]++;
        progress.onBlob?.(b, outcome);
      }),
    ),
  );

  for (const m of manifests) {
    const isRoot = m === manifests[manifests.length - 1];
    if (isRoot) break;
    await putStoredManifest(repo, store, m, m.digest);
    progress.onManifest?.(m, m.digest);
  }
  const tag = target.tag ?? root.digest;
  await putStoredManifest(repo, store, root, tag);
  progress.onManifest?.(root, tag);
  return { ref: target, descriptor: root, blobs: counts };
}

async function putStoredManifest(
  repo: ReturnType<RegistryClients["repository"]>,
  store: BlobProvider,
  d: Descriptor,
  reference: string,
): Promise<void> {
  const bytes = await store.readBytes(d.digest);
  await repo.putManifest(reference, bytes, d.mediaType);
}
