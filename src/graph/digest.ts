import { hash } from "node:crypto";
import type { Digest } from "../oci/digest.ts";
import type { Op } from "./types.ts";

/**
 * The digest of a vertex: sha256 of the canonical JSON (src/oci/canonical-json.ts: keys sorted by code
 * unit, no whitespace, undefined fields left out) of its op and its inputs' digests. Metadata (display
 * names, locations) is left out, so the same work asked for by two stages or two platforms is one vertex.
 */
export function vertexDigest(op: Op, inputs: readonly Digest[]): Digest {
  const text = `{"inputs":${writeCanonical(inputs)},"op":${writeCanonical(op)}}`;
  return `sha256:${hash("sha256", text, "hex")}` as Digest;
}

// Frozen values cannot change, so their text is kept: the planner freezes what many vertices share (an
// environment list used by consecutive RUN steps, a stage's platform).
const frozenText = new WeakMap<object, string>();

/**
 * The same bytes as `canonicalJson`, written in one pass: planning a long Dockerfile digests thousands of
 * ops, and building sorted copies of every object first dominated the planner's time.
 */
export function writeCanonical(value: unknown): string {
  if (value !== null && typeof value === "object" && Object.isFrozen(value)) {
    let text = frozenText.get(value);
    if (text === undefined) {
      text = writeFresh(value);
      frozenText.set(value, text);
    }
    return text;
  }
  return writeFresh(value);
}

function writeFresh(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
    case "boolean":
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ",";
          const item = value[i];
          // JSON.stringify writes undefined (and functions) in arrays as null.
          out += item === undefined || typeof item === "function" ? "null" : writeCanonical(item);
        }
        return `${out}]`;
      }
      const record = value as Record<string, unknown>;
      // The default sort compares UTF-16 code units, which is the canonical order.
      const keys = Object.keys(record).sort();
      let out = "{";
      let first = true;
      for (const k of keys) {
        const v = record[k];
        if (v === undefined || typeof v === "function") continue;
        out += `${first ? "" : ","}${JSON.stringify(k)}:${writeCanonical(v)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      return "null";
  }
}
