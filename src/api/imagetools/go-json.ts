/**
 * JSON as buildx prints it in `imagetools inspect --format '{{json …}}'`: Go's `json.MarshalIndent(v, "", "  ")`
 * of the image-spec Go types. Two things differ from `JSON.stringify(v, null, 2)`: Go escapes `<`, `>`, `&`,
 * U+2028 and U+2029, and the Go structs decide which fields exist and in what order (unknown fields of a
 * config or descriptor are dropped, `omitempty` ones vanish when empty). Tools that compare our output with
 * buildx's (or parse it with the same structs) see the same document.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Go's MarshalIndent with two-space indent; maps (plain objects built here) keep their key order. */
export function goJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[<>&\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A time as Go re-encodes a parsed `time.Time` (RFC 3339 with nanoseconds): trailing zeros of the fraction
 * dropped, a zero offset written `Z`. Anything unparsable is kept as it was.
 */
function goTime(v: unknown): string {
  const s = str(v);
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return s;
  const fraction = (m[2] ?? "").slice(0, 9).replace(/0+$/, "");
  const zone = m[3] === "z" || m[3] === "+00:00" ? "Z" : m[3]!;
  return `${m[1]}${fraction ? `.${fraction}` : ""}${zone}`;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** A Go map[string]T marshals with sorted keys. */
function sortedMap<T>(v: unknown, each: (x: unknown) => T): Record<string, T> | undefined {
  if (!isObject(v)) return undefined;
  const keys = Object.keys(v).sort();
  if (keys.length === 0) return undefined;
  return Object.fromEntries(keys.map((k) => [k, each(v[k])]));
}

function stringArray(v: unknown): string[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined;
  return v.map(str);
}

/** Sets `key` only when the value is not Go-empty (omitempty). */
function put(out: Record<string, Json>, key: string, value: Json | undefined): void {
  if (value === undefined || value === null || value === "" || value === false || value === 0) return;
  if (Array.isArray(value) && value.length === 0) return;
  if (isObject(value) && Object.keys(value).length === 0) return;
  out[key] = value;
}

/** ocispec.Platform: architecture, os, os.version, os.features, variant (as stored, not normalised). */
export function goPlatform(p: unknown): Record<string, Json> {
  const src = isObject(p) ? p : {};
  const out: Record<string, Json> = { architecture: str(src.architecture), os: str(src.os) };
  put(out, "os.version", str(src["os.version"]));
  put(out, "os.features", stringArray(src["os.features"]));
  put(out, "variant", str(src.variant));
  return out;
}

/** ocispec.Descriptor: mediaType, digest, size, urls, annotations, data, platform, artifactType. */
export function goDescriptor(d: unknown): Record<string, Json> {
  const src = isObject(d) ? d : {};
  const out: Record<string, Json> = {
    mediaType: str(src.mediaType),
    digest: str(src.digest),
    size: typeof src.size === "number" ? src.size : 0,
  };
  put(out, "urls", stringArray(src.urls));
  put(out, "annotations", sortedMap(src.annotations, str));
  put(out, "data", str(src.data));
  if (isObject(src.platform)) out.platform = goPlatform(src.platform);
  put(out, "artifactType", str(src.artifactType));
  return out;
}

/** What `.Manifest` is for an index: the index's fields with the root digest and size (buildx's struct). */
export function goIndexManifest(raw: unknown, digest: string, size: number): Record<string, Json> {
  const src = isObject(raw) ? raw : {};
  const out: Record<string, Json> = {
    schemaVersion: typeof src.schemaVersion === "number" ? src.schemaVersion : 0,
  };
  put(out, "mediaType", str(src.mediaType));
  out.digest = digest;
  out.size = size;
  out.manifests = Array.isArray(src.manifests) ? src.manifests.map(goDescriptor) : null;
  put(out, "annotations", sortedMap(src.annotations, str));
  return out;
}

function emptyStructMap(v: unknown): Record<string, Json> | undefined {
  return sortedMap(v, () => ({}));
}

/** ocispec.ImageConfig: only the fields the OCI spec defines (Docker's Healthcheck, Shell, OnBuild are not). */
function goContainerConfig(c: unknown): Record<string, Json> {
  const src = isObject(c) ? c : {};
  const out: Record<string, Json> = {};
  put(out, "User", str(src.User));
  put(out, "ExposedPorts", emptyStructMap(src.ExposedPorts));
  put(out, "Env", stringArray(src.Env));
  put(out, "Entrypoint", stringArray(src.Entrypoint));
  put(out, "Cmd", stringArray(src.Cmd));
  put(out, "Volumes", emptyStructMap(src.Volumes));
  put(out, "WorkingDir", str(src.WorkingDir));
  put(out, "Labels", sortedMap(src.Labels, str));
  put(out, "StopSignal", str(src.StopSignal));
  put(out, "ArgsEscaped", src.ArgsEscaped === true);
  return out;
}

/** ocispec.Image, the config blob as buildx decodes and re-encodes it. */
export function goImage(config: unknown): Record<string, Json> {
  const src = isObject(config) ? config : {};
  const out: Record<string, Json> = {};
  put(out, "created", goTime(src.created));
  put(out, "author", str(src.author));
  Object.assign(out, goPlatform(src));
  // `config` is a struct: omitempty never drops it.
  out.config = goContainerConfig(src.config);
  const rootfs = isObject(src.rootfs) ? src.rootfs : {};
  out.rootfs = {
    type: str(rootfs.type),
    diff_ids: Array.isArray(rootfs.diff_ids) ? rootfs.diff_ids.map(str) : null,
  };
  if (Array.isArray(src.history) && src.history.length) {
    out.history = src.history.map((h) => {
      const e = isObject(h) ? h : {};
      const entry: Record<string, Json> = {};
      put(entry, "created", goTime(e.created));
      put(entry, "created_by", str(e.created_by));
      put(entry, "author", str(e.author));
      put(entry, "comment", str(e.comment));
      put(entry, "empty_layer", e.empty_layer === true);
      return entry;
    });
  }
  return out;
}
