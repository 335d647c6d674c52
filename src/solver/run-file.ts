/**
 * A file op (COPY, ADD, WORKDIR, here-documents): a writable snapshot over input 0's chain, read-only
 * views of the other inputs, the worker's applyFileOp, then the changes committed as one new layer.
 */
import type { BuildGraph, FileOp, Vertex } from "../graph/types.ts";
import type { Digest } from "../oci/digest.ts";
import { applyFileOp } from "../worker/fileop/index.ts";
import type { RunEnv } from "./run-env.ts";
import { metaLocation } from "./vertex-info.ts";
import type { ChainView } from "./workspace.ts";

/** How errors name an input: "the build context", `stage "builder"`, an image reference. */
function inputName(graph: BuildGraph, digest: Digest): string | undefined {
  const v = graph.vertices[digest];
  if (!v) return undefined;
  if (v.op.kind === "source") {
    const s = v.op.source;
    if (s.type === "local") return s.name === "context" ? "the build context" : `context "${s.name}"`;
    if (s.type === "image") return s.ref;
    if (s.type === "http") return s.url;
    return undefined;
  }
  return v.meta?.stage ? `stage "${v.meta.stage}"` : undefined;
}

export async function runFile(
  env: RunEnv,
  graph: BuildGraph,
  id: string,
  vertex: Vertex,
  op: FileOp,
  inputChains: readonly (readonly string[])[],
): Promise<string[]> {
  const snapshotter = await env.ws.snapshotter();
  const base = inputChains[0] ?? [];
  const key = env.ws.newKey("file");
  const snap = await snapshotter.prepare(
    key,
    base.map((n) => env.ws.dirPath(n)),
  );
  const views: ChainView[] = [];
  let committed = false;
  try {
    const roots: string[] = [snap.rootfs];
    for (let i = 1; i < inputChains.length; i++) {
      const view = await env.ws.view(inputChains[i] ?? []);
      views.push(view);
      roots.push(view.root);
    }
    const contextInputs = vertex.inputs.flatMap((d, i) => {
      const op = graph.vertices[d]?.op;
      return op?.kind === "source" && op.source.type === "local" ? [i] : [];
    });
    const location = metaLocation(vertex.meta);
    await applyFileOp(op, {
      dest: snap.rootfs,
      inputs: roots,
      contextInputs,
      inputNames: vertex.inputs.map((d) => inputName(graph, d)),
      ...(location ? { location, where: `${location.file}:${location.line}` } : {}),
      warn: (message) => env.progress.emit({ type: "warning", message, id, at: env.progress.now() }),
    });
    for (const v of views.splice(0)) await v.release();
    await snap.release();
    const dir = await snapshotter.commit(key);
    committed = true;
    const name = await env.ws.adopt(dir, key, false);
    return [...base, name];
  } finally {
    for (const v of views) await v.release().catch(() => {});
    if (!committed) {
      await snap.release().catch(() => {});
      await snapshotter.remove(key).catch(() => {});
    }
  }
}
