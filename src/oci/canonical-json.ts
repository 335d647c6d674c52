/**
 * Canonical JSON: object keys sorted by code unit, no insignificant whitespace. Two equal values always give
 * the same bytes, so a digest of a config or manifest built from the same inputs is stable. Written out
 * directly rather than by rebuilding objects: JavaScript lists integer-like keys ("0", "10") first whatever
 * order they are inserted in, which would break the sort.
 */
export function canonicalJson(value: unknown): string {
  return write(value) ?? "null";
}

export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), "utf8");
}

function write(value: unknown): string | undefined {
  if (value === null) return "null";
  if (Array.isArray(value)) return `[${value.map((v) => write(v) ?? "null").join(",")}]`;
  if (typeof value === "object") {
    const maybe = value as { toJSON?: () => unknown };
    if (typeof maybe.toJSON === "function") return write(maybe.toJSON());
    const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const parts: string[] = [];
    for (const k of keys) {
      const v = write((value as Record<string, unknown>)[k]);
      if (v !== undefined) parts.push(`${JSON.stringify(k)}:${v}`);
    }
    return `{${parts.join(",")}}`;
  }
  // Strings, numbers, booleans as JSON.stringify writes them; undefined and functions are left out.
  return JSON.stringify(value);
}

/** Serialises keeping the object's own field order (spec order), compact, without undefined fields. */
export function compactJsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), "utf8");
}
