/**
 * A layer vertex's layer: its own top directory (overlay upper format) as a deterministic gzip tar,
 * streamed into the content store (diff_id and digest computed on the way). The lower view lets the
 * differ drop what did not really change (a directory copied up unchanged, a whiteout over nothing);
 * an unchanged step gives an empty layer, which the image leaves out as BuildKit does. A diff another
 * platform already compressed is not compressed again (compress-once.ts).
 */
import type { BlobInfo } from "../content/types.ts";
import { computeChanges } from "../worker/layer/differ.ts";
import { writeLayer } from "../worker/layer/export-layer.ts";
import type { LayerRecord } from "./cache-index.ts";
import { compressOnce } from "./compress-once.ts";
import type { RunEnv } from "./run-env.ts";
import { storeSink } from "./store-sink.ts";

export async function exportDirLayer(
  env: RunEnv,
  top: string,
  lowerChain: readonly string[] | undefined,
): Promise<LayerRecord> {
  const lower = lowerChain && lowerChain.length > 0 ? await env.ws.view(lowerChain) : undefined;
  try {
    const changes = await computeChanges({
      upper: env.ws.dirPath(top),
      upperKind: "overlay",
      ...(lower ? { lower: lower.root } : {}),
    });
    if (changes.length === 0) return { empty: true };
    const layer = await compressOnce(env.store, changes, "gzip", async () => {
      const sink = await storeSink(env.store);
      const result = await writeLayer(changes, { sink: sink.stream });
      const info: BlobInfo = await sink.committed;
      if (info.digest !== result.descriptor.digest)
        throw new Error(
          `layer export: stored ${info.digest}, but the tar hashed to ${result.descriptor.digest}`,
        );
      return { descriptor: result.descriptor, diffId: result.diffId };
    });
    return { empty: false, descriptor: layer.descriptor, diffId: layer.diffId };
  } finally {
    await lower?.release();
  }
}
