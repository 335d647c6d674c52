// The solver: runs a build graph with a persistent content-addressed cache (see solver.ts).
export { CacheIndex, type ChainRecord, type LayerRecord } from "./cache-index.ts";
export { CACHE_KEY_VERSION, type CacheKey, computeCacheKeys } from "./cache-key.ts";
export { hashSelection } from "./context-hash.ts";
export {
  ImageResolver,
  type ImageResolverOptions,
  type LocalImage,
  type ResolvedImageInfo,
} from "./image-resolver.ts";
export { Solver } from "./solver.ts";
export type * from "./types.ts";
