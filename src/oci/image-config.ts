import { jsonSyntaxProblem } from "../errors/json-syntax.ts";
import { UserError } from "../errors/user-error.ts";
import type { Digest } from "./digest.ts";
import { normalizePlatform, type Platform } from "./platform.ts";

/** The runtime defaults of an image (`config` in the image config), with the spec's field names. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Shell?: string[];
  OnBuild?: string[] | null;
  Healthcheck?: {
    Test?: string[];
    Interval?: number;
    Timeout?: number;
    StartPeriod?: number;
    StartInterval?: number;
    Retries?: number;
  };
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The image config blob: platform, runtime config, layer diff_ids and history. */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
  config?: ContainerConfig;
  rootfs: { type: "layers"; diff_ids: Digest[] };
  history?: HistoryEntry[];
  /** polyarch's inline build cache (`--cache-to type=inline`): cache records of the image's own layers. */
  [inlineCacheKey]?: unknown;
}

export function parseImageConfig(bytes: Uint8Array, where: string): ImageConfig {
  let doc: unknown;
  const text = Buffer.from(bytes).toString("utf8");
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${where}: image config is ${jsonSyntaxProblem(e, text)}`);
  }
  if (typeof doc !== "object" || doc === null) throw new UserError(`${where}: image config is not an object`);
  const c = doc as Partial<ImageConfig>;
  if (typeof c.architecture !== "string" || typeof c.os !== "string") {
    throw new UserError(`${where}: image config lacks architecture or os`);
  }
  if (!c.rootfs || !Array.isArray(c.rootfs.diff_ids))
    throw new UserError(`${where}: image config lacks rootfs.diff_ids`);
  return c as ImageConfig;
}

export function configPlatform(c: ImageConfig): Platform {
  const p: Platform = { os: c.os, architecture: c.architecture };
  if (c.variant) p.variant = c.variant;
  if (c["os.version"]) p["os.version"] = c["os.version"];
  return normalizePlatform(p);
}

/** Serialises in the spec's field order (as BuildKit writes it), compact and deterministic. */
/** The image config field that carries an inline build cache (as BuildKit's `moby.buildkit.cache.v0`). */
export const inlineCacheKey = "io.polyarch.cache.v1";

export function serializeImageConfig(c: ImageConfig): Buffer {
  const out: Record<string, unknown> = {};
  if (c.created !== undefined) out.created = c.created;
  if (c.author !== undefined) out.author = c.author;
  out.architecture = c.architecture;
  if (c.os !== undefined) out.os = c.os;
  if (c["os.version"]) out["os.version"] = c["os.version"];
  if (c["os.features"]?.length) out["os.features"] = c["os.features"];
  if (c.variant) out.variant = c.variant;
  if (c.config) out.config = c.config;
  out.rootfs = { type: "layers", diff_ids: c.rootfs.diff_ids };
  if (c.history) out.history = c.history;
  if (c[inlineCacheKey] !== undefined) out[inlineCacheKey] = c[inlineCacheKey];
  return Buffer.from(JSON.stringify(out), "utf8");
}
