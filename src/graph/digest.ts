import { hash } from "node:crypto";
import { canonicalJson } from "../oci/canonical-json.ts";
import type { Digest } from "../oci/digest.ts";
import type { Op } from "./types.ts";

/**
 * The digest of a vertex: sha256 of the canonical JSON (src/oci/canonical-json.ts: keys sorted by code
 * unit, no whitespace, undefined fields left out) of its op and its inputs' digests. Metadata (display
 * names, locations) is left out, so the same work asked for by two stages or two platforms is one vertex.
 */
export function vertexDigest(op: Op, inputs: readonly Digest[]): Digest {
  const text = `{"inputs":${canonicalJson(inputs)},"op":${canonicalJson(op)}}`;
  return `sha256:${hash("sha256", text, "hex")}` as Digest;
}
