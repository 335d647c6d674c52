import type { Digest } from "../oci/digest.ts";
import { normalizePlatform, type Platform } from "../oci/platform.ts";
import { vertexDigest } from "./digest.ts";
import { type BuildGraph, GRAPH_VERSION, type Op, type Vertex, type VertexMeta } from "./types.ts";

export function emptyGraph(): BuildGraph {
  return { version: GRAPH_VERSION, vertices: {} };
}

/**
 * Adds a vertex (or finds the identical one already there) and returns its digest. Inputs must already be
 * in the graph. The first caller's metadata is kept: a vertex shared by several platforms is shown once.
 */
export function addVertex(
  graph: BuildGraph,
  op: Op,
  inputs: readonly Digest[] = [],
  meta?: VertexMeta,
): Digest {
  for (const input of inputs) {
    if (!(input in graph.vertices)) throw new Error(`addVertex: input ${input} is not in the graph`);
  }
  const normalised = normalizeOp(op);
  const digest = vertexDigest(normalised, inputs);
  if (!(digest in graph.vertices)) {
    const vertex: Vertex = { op: normalised, inputs: [...inputs] };
    if (meta && Object.keys(meta).length > 0) vertex.meta = meta;
    graph.vertices[digest] = vertex;
  }
  return digest;
}

const canonicalPlatforms = new WeakSet<Platform>();

/**
 * A platform normalised (`arm64/v8` is `arm64`) and frozen. Passing the same object again costs nothing,
 * and a frozen value's digest text is computed once, so callers that make many vertices keep it.
 */
export function canonicalPlatform(p: Platform): Platform {
  if (canonicalPlatforms.has(p)) return p;
  const n = Object.freeze(normalizePlatform(p));
  canonicalPlatforms.add(n);
  return n;
}

/**
 * Platforms are normalised so that equal work always hashes equal. An op whose platform is canonical
 * already (the planner's always are) is used as it is, as file ops always were.
 */
function normalizeOp(op: Op): Op {
  if (op.kind === "exec") {
    const platform = canonicalPlatform(op.platform);
    return platform === op.platform ? op : { ...op, platform };
  }
  if (op.kind === "source" && op.source.type === "image") {
    const platform = canonicalPlatform(op.source.platform);
    return platform === op.source.platform ? op : { ...op, source: { ...op.source, platform } };
  }
  return op;
}

export function getVertex(graph: BuildGraph, digest: Digest): Vertex {
  const v = graph.vertices[digest];
  if (!v) throw new Error(`vertex ${digest} is not in the graph`);
  return v;
}
