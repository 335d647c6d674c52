import { jsonSyntaxProblem } from "../errors/json-syntax.ts";
import { UserError } from "../errors/user-error.ts";
import {
  type Descriptor,
  orderedDescriptor,
  parseDescriptor,
  sortedRecord,
  stringRecord,
} from "./descriptor.ts";
import { MediaType } from "./media-types.ts";

/** An image manifest: one platform's config and layers (OCI, or Docker schema 2 when mediaType says so). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An image index (Docker: manifest list): one manifest per platform. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type AnyManifest =
  | { kind: "index"; index: ImageIndex }
  | { kind: "manifest"; manifest: ImageManifest };

function parseJsonObject(bytes: Uint8Array | string, where: string): Record<string, unknown> {
  let value: unknown;
  const text = typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("utf8");
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${where}: ${jsonSyntaxProblem(e, text)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UserError(`${where}: expected a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Parses manifest bytes. `contentType` is what the registry said (or the descriptor's mediaType); the
 * document's own mediaType wins when present. Unknown or legacy types are refused with a clear error.
 */
export function parseAnyManifest(
  bytes: Uint8Array | string,
  contentType: string | undefined,
  where: string,
): AnyManifest {
  const doc = parseJsonObject(bytes, where);
  const declared = typeof doc.mediaType === "string" ? doc.mediaType : undefined;
  let mediaType = declared ?? stripParams(contentType);
  if (!mediaType || mediaType === "application/json" || mediaType === "text/plain") {
    // OCI allows mediaType to be absent; the shape decides.
    mediaType = Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
  }
  if (doc.schemaVersion === 1 || mediaType.startsWith("application/vnd.docker.distribution.manifest.v1")) {
    throw new UserError(`${where}: Docker schema 1 manifests are not supported`, {
      hint: "re-push the image with a current Docker or buildx, which write schema 2 or OCI manifests",
    });
  }
  if (mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList) {
    return { kind: "index", index: parseIndexObject(doc, mediaType, where) };
  }
  if (mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest) {
    return { kind: "manifest", manifest: parseManifestObject(doc, mediaType, where) };
  }
  throw new UserError(`${where}: unknown manifest media type ${JSON.stringify(mediaType)}`, {
    hint: "polyarch reads OCI image indexes and manifests and Docker schema 2 manifests and manifest lists",
  });
}

function stripParams(contentType: string | undefined): string | undefined {
  return contentType?.split(";")[0]?.trim() || undefined;
}

function parseManifestObject(doc: Record<string, unknown>, mediaType: string, where: string): ImageManifest {
  if (doc.schemaVersion !== 2) throw new UserError(`${where}: schemaVersion must be 2`);
  if (!Array.isArray(doc.layers)) throw new UserError(`${where}: manifest has no layers array`);
  const m: ImageManifest = {
    schemaVersion: 2,
    mediaType,
    config: parseDescriptor(doc.config, `${where} config`),
    layers: doc.layers.map((l, i) => parseDescriptor(l, `${where} layers[${i}]`)),
  };
  if (typeof doc.artifactType === "string") m.artifactType = doc.artifactType;
  if (doc.subject !== undefined) m.subject = parseDescriptor(doc.subject, `${where} subject`);
  if (typeof doc.annotations === "object" && doc.annotations)
    m.annotations = stringRecord(doc.annotations as Record<string, unknown>);
  return m;
}

function parseIndexObject(doc: Record<string, unknown>, mediaType: string, where: string): ImageIndex {
  if (doc.schemaVersion !== 2) throw new UserError(`${where}: schemaVersion must be 2`);
  if (!Array.isArray(doc.manifests)) throw new UserError(`${where}: index has no manifests array`);
  const idx: ImageIndex = {
    schemaVersion: 2,
    mediaType,
    manifests: doc.manifests.map((d, i) => parseDescriptor(d, `${where} manifests[${i}]`)),
  };
  if (typeof doc.artifactType === "string") idx.artifactType = doc.artifactType;
  if (doc.subject !== undefined) idx.subject = parseDescriptor(doc.subject, `${where} subject`);
  if (typeof doc.annotations === "object" && doc.annotations)
    idx.annotations = stringRecord(doc.annotations as Record<string, unknown>);
  return idx;
}

export function parseManifest(bytes: Uint8Array | string, where: string): ImageManifest {
  const any = parseAnyManifest(bytes, undefined, where);
  if (any.kind !== "manifest") throw new UserError(`${where}: expected an image manifest, found an index`);
  return any.manifest;
}

export function parseIndex(bytes: Uint8Array | string, where: string): ImageIndex {
  const any = parseAnyManifest(bytes, undefined, where);
  if (any.kind !== "index") throw new UserError(`${where}: expected an image index, found a manifest`);
  return any.index;
}

/** Serialises in the spec's field order, compact. Deterministic: same value, same bytes, same digest. */
export function serializeManifest(m: ImageManifest): Buffer {
  const out: Record<string, unknown> = { schemaVersion: 2, mediaType: m.mediaType };
  if (m.artifactType) out.artifactType = m.artifactType;
  out.config = orderedDescriptor(m.config);
  out.layers = m.layers.map(orderedDescriptor);
  if (m.subject) out.subject = orderedDescriptor(m.subject);
  if (m.annotations && Object.keys(m.annotations).length) out.annotations = sortedRecord(m.annotations);
  return Buffer.from(JSON.stringify(out), "utf8");
}

export function serializeIndex(idx: ImageIndex): Buffer {
  const out: Record<string, unknown> = { schemaVersion: 2, mediaType: idx.mediaType };
  if (idx.artifactType) out.artifactType = idx.artifactType;
  out.manifests = idx.manifests.map(orderedDescriptor);
  if (idx.subject) out.subject = orderedDescriptor(idx.subject);
  if (idx.annotations && Object.keys(idx.annotations).length) out.annotations = sortedRecord(idx.annotations);
  return Buffer.from(JSON.stringify(out), "utf8");
}
