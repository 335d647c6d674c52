/**
 * A node's half of a push build: the layer blobs of its results go by digest straight from the node's
 * store to each target repository, so they never travel through the client. Only blobs are pushed here;
 * the client writes the configs, manifests and the index (last), so a tag never points at a half-built
 * index. The names come from the client, and are parsed as any reference is; the credentials for them
 * are asked of the client per registry, as the node's pulls do.
 */
import pLimit from "p-limit";
import type { ContentStore } from "../../content/types.ts";
import type { Descriptor } from "../../oci/descriptor.ts";
import type { Digest } from "../../oci/digest.ts";
import type { ProgressSink } from "../../progress/events.ts";
import { pushStoredBlob } from "../../registry/blob-transfer.ts";
import { type ImageReference, parseReference, referenceName } from "../../registry/reference.ts";
import type { RegistryClients } from "../../registry/registry-clients.ts";
import type { SolvedPlatform } from "../../solver/types.ts";
import { wireError } from "./wire-values.ts";

/** The repositories a client asked the node to push to (`registry/repository`, no tag or digest). */
export function parsePushTargets(v: unknown): ImageReference[] {
  if (!Array.isArray(v) || v.length > 64 || !v.every((s) => typeof s === "string"))
    throw wireError("push targets that are not a list of names");
  return v.map((s: string) => {
    const ref = parseReference(s);
    // Only a repository's canonical name (what the client sends): no tag, digest or shorthand.
    if (referenceName(ref) !== s)
      throw wireError(`a push target that is not a repository (${s.slice(0, 200)})`);
    return { registry: ref.registry, repository: ref.repository };
  });
}

/** Every blob of the results (base and built layers), each once. */
export function resultBlobs(results: readonly SolvedPlatform[]): Descriptor[] {
  const out = new Map<Digest, Descriptor>();
  for (const r of results)
    for (const l of [...r.baseLayers, ...r.layers.flatMap((x) => (x.layer ? [x.layer] : []))])
      out.set(l.descriptor.digest, l.descriptor);
  return [...out.values()];
}

export interface NodePushOutcome {
  targets: string[];
  exists: number;
  mounted: number;
  uploaded: number;
}

export async function pushResultBlobs(
  clients: RegistryClients,
  store: ContentStore,
  targets: readonly ImageReference[],
  results: readonly SolvedPlatform[],
  progress: ProgressSink,
): Promise<NodePushOutcome> {
  const blobs = resultBlobs(results);
  const outcome: NodePushOutcome = {
    targets: targets.map(referenceName),
    exists: 0,
    mounted: 0,
    uploaded: 0,
  };
  const limit = pLimit(clients.options.concurrency ?? 4);
  for (const target of targets) {
    const id = `push-layers:${referenceName(target)}`;
    const at = Date.now();
    progress.emit({
      type: "vertex.start",
      id,
      name: `pushing ${blobs.length} layers to ${referenceName(target)}`,
      at,
    });
    const repo = clients.repository(target);
    try {
      await Promise.all(
        blobs.map((b) =>
          limit(async () => {
            outcome[await pushStoredBlob(repo, store, b)]++;
          }),
        ),
      );
    } catch (e) {
      progress.emit({
        type: "vertex.done",
        id,
        durationMs: Date.now() - at,
        error: e instanceof Error ? e.message : String(e),
        at: Date.now(),
      });
      throw e;
    }
    progress.emit({ type: "vertex.done", id, durationMs: Date.now() - at, at: Date.now() });
  }
  return outcome;
}
