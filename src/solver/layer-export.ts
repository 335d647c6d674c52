/**
 * A layer vertex's layer: its own top directory (overlay upper format) as a deterministic gzip tar,
 * streamed into the content store (diff_id and digest computed on the way). The lower view lets the
 * differ drop what did not really change (a directory copied up unchanged, a whiteout over nothing);
 * an unchanged step gives an empty layer, which the image leaves out as BuildKit does.
 */
import type { BlobInfo } from "../content/types.ts";
import { exportLayer } from "../worker/layer/export-layer.ts";
import type { LayerRecord } from "./cache-index.ts";
import type { RunEnv } from "./run-env.ts";
import { storeSink } from "./store-sink.ts";

export async function exportDirLayer(
  env: RunEnv,
  top: string,
  lowerChain: readonly string[] | undefined,
): Promise<LayerRecord> {
  const lower = lowerChain && lowerChain.length > 0 ? await env.ws.view(lowerChain) : undefined;
  let committed: Promise<BlobInfo> | undefined;
  try {
    const result = await exportLayer({
      upper: env.ws.dirPath(top),
      upperKind: "overlay",
      ...(lower ? { lower: lower.root } : {}),
      sink: async () => {
        const s = await storeSink(env.store);
        committed = s.committed;
        return s.stream;
      },
    });
    if (result.empty) return { empty: true };
    const info = await committed!;
    if (info.digest !== result.descriptor.digest)
      throw new Error(
        `layer export: stored ${info.digest}, but the tar hashed to ${result.descriptor.digest}`,
      );
    return { empty: false, descriptor: result.descriptor, diffId: result.diffId };
  } finally {
    await lower?.release();
  }
}
