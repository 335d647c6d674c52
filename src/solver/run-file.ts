/**
 * A file op (COPY, ADD, WORKDIR, here-documents): run by the worker over input 0's chain with the other
 * inputs' chains to read from; its changes become one new snapshot on top.
 */
import type { BuildGraph, FileOp, Vertex } from "../graph/types.ts";
import type { Digest } from "../oci/digest.ts";
import type { RunEnv } from "./run-env.ts";
import { metaLocation } from "./vertex-info.ts";

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
  const base = inputChains[0] ?? [];
  const contextInputs = vertex.inputs.flatMap((d, i) => {
    const op = graph.vertices[d]?.op;
    return op?.kind === "source" && op.source.type === "local" ? [i] : [];
  });
  const location = metaLocation(vertex.meta);
  const name = await env.worker.fileOp({
    base,
    inputs: inputChains,
    op,
    contextInputs,
    inputNames: vertex.inputs.map((d) => inputName(graph, d)),
    ...(location ? { location } : {}),
    warn: (message) => env.progress.emit({ type: "warning", message, id, at: env.progress.now() }),
  });
  return [...base, name];
}
