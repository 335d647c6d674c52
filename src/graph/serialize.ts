import { jsonSyntaxProblem } from "../errors/json-syntax.ts";
import { UserError } from "../errors/user-error.ts";
import type { Digest } from "../oci/digest.ts";
import { vertexDigest } from "./digest.ts";
import { type BuildGraph, GRAPH_VERSION } from "./types.ts";
import { validateVertex } from "./validate.ts";
import { topologicalOrder } from "./walk.ts";

/**
 * Serialises a graph as JSON text, vertices in dependency order (inputs first), so that a reader can verify
 * each digest as it goes. Only the vertices `roots` need are written when roots are given.
 */
export function graphToJson(graph: BuildGraph, roots?: readonly Digest[]): string {
  const vertices: BuildGraph["vertices"] = {};
  for (const d of topologicalOrder(graph, roots)) vertices[d] = graph.vertices[d]!;
  return JSON.stringify({ version: graph.version, vertices });
}

/**
 * Reads a graph written by `graphToJson` (or any JSON value of that shape). Every vertex is checked for
 * shape, every digest is recomputed from the definition and its inputs, and every input must be present:
 * a graph from elsewhere (a remote client) is trusted only as far as its digests prove.
 */
export function graphFromJson(text: string): BuildGraph {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UserError(`build graph: ${jsonSyntaxProblem(e, text)}`);
  }
  return graphFromValue(doc);
}

export function graphFromValue(doc: unknown): BuildGraph {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw new UserError("build graph: not a JSON object");
  const { version, vertices } = doc as Record<string, unknown>;
  if (version !== GRAPH_VERSION)
    throw new UserError(`build graph: unsupported version ${JSON.stringify(version)}`, {
      hint: `this polyarch reads version ${GRAPH_VERSION}`,
    });
  if (typeof vertices !== "object" || vertices === null || Array.isArray(vertices))
    throw new UserError("build graph: vertices is not an object");
  const graph: BuildGraph = { version: GRAPH_VERSION, vertices: {} };
  for (const [key, value] of Object.entries(vertices as Record<string, unknown>)) {
    const vertex = validateVertex(value, `vertex ${key}`);
    const actual = vertexDigest(vertex.op, vertex.inputs);
    if (actual !== key)
      throw new UserError(`build graph: vertex ${key} does not match its definition (digest ${actual})`);
    graph.vertices[key] = vertex;
  }
  // Every input must be defined; content addressing already rules out cycles, the walk double-checks.
  topologicalOrder(graph);
  return graph;
}
