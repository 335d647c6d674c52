// Frozen values cannot change, so their text is kept: the planner freezes what many vertices share (an
// environment list used by consecutive RUN steps, a stage's platform).
const frozenText = new WeakMap<object, string>();

// A string needs JSON.stringify only when it holds a quote, a backslash, a control character or a
// surrogate (JSON.stringify escapes lone ones); any other string is written as it is between quotes.
const needsEscape = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * Canonical JSON: object keys sorted by code unit, no insignificant whitespace, undefined fields left out.
 * Two equal values always give the same bytes, so a digest of a config, a manifest or a build vertex built
 * from the same inputs is stable. Written in one pass (planning a long Dockerfile digests thousands of ops),
 * never by rebuilding objects: JavaScript lists integer-like keys first whatever order they are inserted in.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case "string":
      return needsEscape.test(value) ? JSON.stringify(value) : `"${value}"`;
    case "number":
      // Number's own text is JSON's for finite numbers (-0 is "0"); JSON has no NaN or Infinity.
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      const frozen = Object.isFrozen(value);
      if (frozen) {
        const known = frozenText.get(value);
        if (known !== undefined) return known;
      }
      // A Date is written as JSON.stringify writes it (its toJSON text); no other class reaches here.
      if (value instanceof Date) return JSON.stringify(value);
      const text = Array.isArray(value) ? writeArray(value) : writeRecord(value as Record<string, unknown>);
      if (frozen) frozenText.set(value, text);
      return text;
    }
    default:
      // undefined, functions, symbols and bigints, as the previous writer treated them.
      return "null";
  }
}

function writeArray(value: readonly unknown[]): string {
  let out = "[";
  for (let i = 0; i < value.length; i++) {
    if (i > 0) out += ",";
    const item = value[i];
    // JSON.stringify writes undefined (and functions) in arrays as null.
    out += item === undefined || typeof item === "function" ? "null" : canonicalJson(item);
  }
  return `${out}]`;
}

function writeRecord(record: Record<string, unknown>): string {
  const keys = Object.keys(record);
  if (keys.length === 0) return "{}";
  const shape = shapeOf(keys);
  const sorted = shape.sorted;
  let out = "{";
  let first = true;
  for (let i = 0; i < sorted.length; i++) {
    const v = record[sorted[i]!];
    if (v === undefined || typeof v === "function") continue;
    if (!first) out += ",";
    out += shape.quoted[i]! + canonicalJson(v);
    first = false;
  }
  return `${out}}`;
}

/** A list of own keys, as Object.keys gave it, with its sorted order and each sorted key's `"key":` text. */
interface Shape {
  keys: readonly string[];
  sorted: readonly string[];
  quoted: readonly string[];
}

// Ops come in a few shapes (an exec op, a copy action, a cache mount…), each built with its keys in the
// same order, so the sorted keys are kept per key list rather than sorted for every object. Lists are
// found by their first key, then compared key by key. Bounded, as arbitrary records pass through too.
const shapes = new Map<string, Shape[]>();
const MAX_FIRST_KEYS = 512;
const MAX_SHAPES_PER_FIRST_KEY = 16;
const MAX_CACHED_KEYS = 32;

function shapeOf(keys: readonly string[]): Shape {
  const first = keys[0]!;
  const bucket = shapes.get(first);
  if (bucket !== undefined) {
    for (const shape of bucket) if (sameKeys(shape.keys, keys)) return shape;
  }
  // The default sort compares UTF-16 code units, which is the canonical order.
  const sorted = [...keys].sort();
  const shape: Shape = { keys, sorted, quoted: sorted.map((k) => `${JSON.stringify(k)}:`) };
  if (keys.length > MAX_CACHED_KEYS) return shape;
  if (bucket === undefined) {
    if (shapes.size < MAX_FIRST_KEYS) shapes.set(first, [shape]);
  } else if (bucket.length < MAX_SHAPES_PER_FIRST_KEY) bucket.push(shape);
  return shape;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 1; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
