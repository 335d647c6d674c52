import { UserError } from "../errors/user-error.ts";
import type { Digest } from "../oci/digest.ts";
import type { BuildGraph } from "./types.ts";

/**
 * The vertices reachable from `roots` (all vertices when roots are not given), inputs before the vertices
 * that use them. The order is deterministic: depth-first from each root in turn, inputs in their order.
 * Throws on a missing input or a cycle (neither can happen in a graph built by `addVertex`).
 */
export function topologicalOrder(graph: BuildGraph, roots?: readonly Digest[]): Digest[] {
  const starts = roots ?? (Object.keys(graph.vertices) as Digest[]);
  const done = new Set<Digest>();
  const onPath = new Set<Digest>();
  const order: Digest[] = [];
  // Iterative depth-first walk: a long Dockerfile makes a long chain, deeper than a comfortable stack.
  for (const root of starts) {
    if (done.has(root)) continue;
    const stack: { digest: Digest; next: number }[] = [{ digest: root, next: 0 }];
    onPath.add(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const vertex = graph.vertices[top.digest];
      if (!vertex) throw new UserError(`build graph: vertex ${top.digest} is referenced but not defined`);
      if (top.next < vertex.inputs.length) {
        const input = vertex.inputs[top.next++]!;
        if (done.has(input)) continue;
        if (onPath.has(input)) throw new UserError(`build graph: cycle through vertex ${input}`);
        onPath.add(input);
        stack.push({ digest: input, next: 0 });
      } else {
        stack.pop();
        onPath.delete(top.digest);
        done.add(top.digest);
        order.push(top.digest);
      }
    }
  }
  return order;
}

/** The set of vertices `roots` depend on, roots included. */
export function reachableVertices(graph: BuildGraph, roots: readonly Digest[]): Set<Digest> {
  return new Set(topologicalOrder(graph, roots));
}

/** How many distinct vertices the roots need (each shared vertex counted once). */
export function countVertices(graph: BuildGraph, roots?: readonly Digest[]): number {
  return roots ? topologicalOrder(graph, roots).length : Object.keys(graph.vertices).length;
}

/** A copy of the graph holding only what `roots` need. */
export function pruneGraph(graph: BuildGraph, roots: readonly Digest[]): BuildGraph {
  const vertices: BuildGraph["vertices"] = {};
  for (const d of topologicalOrder(graph, roots)) vertices[d] = graph.vertices[d]!;
  return { version: graph.version, vertices };
}

/** Vertices that no other vertex uses as an input (the graph's natural outputs). */
export function graphLeaves(graph: BuildGraph): Digest[] {
  const used = new Set<string>();
  for (const v of Object.values(graph.vertices)) for (const i of v.inputs) used.add(i);
  return (Object.keys(graph.vertices) as Digest[]).filter((d) => !used.has(d));
}
