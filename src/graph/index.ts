// The build graph: a serialisable, content-addressed definition of the work a build does.
export { addVertex, canonicalPlatform, emptyGraph, getVertex } from "./build.ts";
export { vertexDigest } from "./digest.ts";
export { formatGraph, type GraphOutput, shortDigest } from "./print.ts";
export { graphFromJson, graphFromValue, graphToJson } from "./serialize.ts";
export * from "./types.ts";
export { validateVertex } from "./validate.ts";
export { countVertices, graphLeaves, pruneGraph, reachableVertices, topologicalOrder } from "./walk.ts";
