import { UserError } from "../errors/user-error.ts";
import { type Digest, parseDigest } from "./digest.ts";
import { normalizePlatform, type Platform } from "./platform.ts";

/** A content descriptor: what a blob is, its digest and size, and (in an index) its platform. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Validates a descriptor read from JSON, with `where` naming it in errors (e.g. "manifest layers[2]"). */
export function parseDescriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw new UserError(`${where}: descriptor is not a JSON object`);
  const { mediaType, digest, size, urls, annotations, platform, artifactType } = value;
  if (typeof mediaType !== "string" || mediaType === "")
    throw new UserError(`${where}: descriptor has no mediaType`);
  if (typeof digest !== "string") throw new UserError(`${where}: descriptor has no digest`);
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new UserError(`${where}: descriptor size ${JSON.stringify(size)} is not a non-negative integer`);
  }
  const out: Descriptor = { mediaType, digest: parseDigest(digest, where), size };
  if (Array.isArray(urls)) out.urls = urls.filter((u): u is string => typeof u === "string");
  if (isObject(annotations)) out.annotations = stringRecord(annotations);
  if (isObject(platform)) {
    if (typeof platform.os !== "string" || typeof platform.architecture !== "string") {
      throw new UserError(`${where}: platform needs both os and architecture`);
    }
    const p: Platform = { os: platform.os, architecture: platform.architecture };
    if (typeof platform.variant === "string" && platform.variant) p.variant = platform.variant;
    if (typeof platform["os.version"] === "string") p["os.version"] = platform["os.version"];
    if (Array.isArray(platform["os.features"])) p["os.features"] = platform["os.features"].map(String);
    out.platform = p;
  }
  if (typeof artifactType === "string") out.artifactType = artifactType;
  return out;
}

export function stringRecord(value: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}

/** A descriptor in the field order the spec lists, with the platform normalised. */
export function orderedDescriptor(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.urls?.length) out.urls = d.urls;
  if (d.annotations && Object.keys(d.annotations).length) out.annotations = sortedRecord(d.annotations);
  if (d.platform) out.platform = normalizePlatform(d.platform);
  if (d.artifactType) out.artifactType = d.artifactType;
  return out;
}

export function sortedRecord<V>(r: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
