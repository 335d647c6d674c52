/**
 * Cache keys: content addresses of what a vertex produces. A vertex's key is the digest of its op and its
 * inputs' KEYS (not their vertex digests), so two vertices whose inputs produce the same files share a
 * key even when they were reached differently; a local source's key is the digest of the files it selects
 * (content, type, mode, owner, link target: never an mtime), an image source's key its pinned digest and
 * platform, a download's key the digest of what was downloaded, a git source's key its commit.
 */
import { hash } from "node:crypto";
import type { BuildGraph, Op } from "../graph/types.ts";
import { canonicalJson } from "../oci/canonical-json.ts";
import type { Digest } from "../oci/digest.ts";

/** Bump when what a key covers, or what a cached result holds, changes: old entries then simply miss. */
export const CACHE_KEY_VERSION = "polyarch-cache-v1";

export type CacheKey = string & { readonly __brand: "CacheKey" };

/** What a source's key is made of when it is not its definition (local content, downloads). */
export type SourceContent = Map<Digest, string>;

/** The op as it enters a key: sources whose result depends on outside content use that content's digest. */
function keyedOp(op: Op, content: string | undefined): unknown {
  if (op.kind !== "source") return op;
  const s = op.source;
  switch (s.type) {
    case "local":
      // The name and patterns only decide which files are selected; the selection's digest says it all.
      return { kind: "source", source: { type: "local", content } };
    case "image":
      // Pinned: the ref's spelling does not matter, the digest and the platform do.
      return s.digest
        ? { kind: "source", source: { type: "image", digest: s.digest, platform: s.platform } }
        : op;
    case "http":
      return content === undefined
        ? op
        : { kind: "source", source: { type: "http", filename: s.filename, content } };
    case "git":
      // The commit, not the ref or the URL's spelling; a kept .git also holds the remote's URL.
      return content === undefined
        ? op
        : {
            kind: "source",
            source: {
              type: "git",
              commit: content,
              subdir: s.subdir ?? "",
              keepGitDir: s.keepGitDir,
              ...(s.keepGitDir ? { remote: s.remote } : {}),
              // Leaving submodules out gives other files from the same commit.
              ...(s.submodules === false ? { submodules: false } : {}),
            },
          };
    default:
      return op;
  }
}

/**
 * Keys for `order` (inputs before their users, e.g. graph/walk's topologicalOrder). `content` must hold
 * the digest of every local source in it.
 */
export function computeCacheKeys(
  graph: BuildGraph,
  order: readonly Digest[],
  content: SourceContent,
): Map<Digest, CacheKey> {
  const keys = new Map<Digest, CacheKey>();
  for (const d of order) {
    const v = graph.vertices[d];
    if (!v) throw new Error(`cache key: vertex ${d} is not in the graph`);
    if (v.op.kind === "source" && v.op.source.type === "local" && !content.has(d))
      throw new Error(`cache key: local source ${d} has no content digest`);
    const inputs = v.inputs.map((i) => {
      const k = keys.get(i);
      if (k === undefined) throw new Error(`cache key: input ${i} of ${d} comes later in the order`);
      return k;
    });
    const text = `${CACHE_KEY_VERSION}\n{"inputs":${canonicalJson(inputs)},"op":${canonicalJson(keyedOp(v.op, content.get(d)))}}`;
    keys.set(d, `sha256:${hash("sha256", text, "hex")}` as CacheKey);
  }
  return keys;
}

/** The hex part of a key, for file names. */
export function keyHex(key: CacheKey | string): string {
  const colon = key.indexOf(":");
  return colon < 0 ? key : key.slice(colon + 1);
}

/** A derived key (e.g. a layer export of a vertex with given options). */
export function deriveKey(key: CacheKey, what: unknown): CacheKey {
  return `sha256:${hash("sha256", `${key}\n${canonicalJson(what)}`, "hex")}` as CacheKey;
}
