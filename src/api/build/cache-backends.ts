/**
 * Cache sources and sinks registered by type (BuildKit's remotecache importers/exporters): `--cache-from` and
 * `--cache-to` name a type and attributes, as buildx spells them; each backend checks its attributes and says
 * where the cache lives. A new type is a registration here, not an edit of a switch. `type=local` and
 * `type=registry` share one format (solver/cache-layout.ts) over a storage; `type=inline` rides in the
 * exported image's config and is read back through the registry type from the image's reference.
 */
import { resolve } from "node:path";
import { UserError } from "../../errors/user-error.ts";
import type { RegistryClients } from "../../registry/registry-clients.ts";
import type { CacheStorage } from "../../solver/cache-storage.ts";
import { localCacheStorage } from "../../solver/cache-storage-local.ts";
import { cacheReference, registryCacheStorage } from "../../solver/cache-storage-registry.ts";

/** `--cache-from` parsed: a backend type and its attributes (ignore-error taken out). */
export interface CacheImport {
  type: string;
  attrs: Readonly<Record<string, string>>;
  ignoreError?: boolean;
}

/** `--cache-to` parsed: type, mode (min: the exported image's layers; max: every step) and attributes. */
export interface CacheExport {
  type: string;
  mode: "min" | "max";
  attrs: Readonly<Record<string, string>>;
  ignoreError?: boolean;
  /** `cache-mounts=true`: also the contents of the build's cache mounts (by id, per platform). */
  cacheMounts?: boolean;
}

export interface CacheBackendContext {
  /** Opened on first use: a build whose caches are all local never loads the HTTP client. */
  registry(): Promise<RegistryClients>;
  cwd: string;
}

export interface CacheBackend {
  type: string;
  /** Attributes `--cache-from` takes (besides type and ignore-error); undefined: not a source. */
  importAttrs?: readonly string[];
  /** Attributes `--cache-to` takes (besides type, mode and ignore-error); undefined: not a sink. */
  exportAttrs?: readonly string[];
  /** Modes `--cache-to` of this type takes. */
  modes?: readonly ("min" | "max")[];
  /** Checks attributes beyond their names (required ones, values); throws a UserError. */
  check?(attrs: Readonly<Record<string, string>>, flag: "--cache-from" | "--cache-to"): void;
  /** Where an import reads. */
  source?(attrs: Readonly<Record<string, string>>, ctx: CacheBackendContext): Promise<CacheStorage>;
  /** Where an export writes; undefined for a sink that writes nothing itself (inline). */
  sink?(attrs: Readonly<Record<string, string>>, ctx: CacheBackendContext): Promise<CacheStorage>;
}

const backends = new Map<string, CacheBackend>();

export function registerCacheBackend(backend: CacheBackend): void {
  backends.set(backend.type, backend);
}

export function cacheBackend(type: string): CacheBackend | undefined {
  return backends.get(type);
}

export function cacheBackendTypes(): string[] {
  return [...backends.keys()];
}

function need(attrs: Readonly<Record<string, string>>, name: string, flag: string, type: string): string {
  const v = attrs[name];
  if (!v) throw new UserError(`${flag} type=${type} needs ${name}=…`);
  return v;
}

registerCacheBackend({
  type: "local",
  importAttrs: ["src"],
  exportAttrs: ["dest", "compression", "oci-mediatypes", "image-manifest"],
  modes: ["min", "max"],
  check(attrs, flag) {
    need(attrs, flag === "--cache-from" ? "src" : "dest", flag, "local");
    checkWriteAttrs(attrs, flag);
  },
  source: async (attrs, ctx) => localCacheStorage(resolve(ctx.cwd, attrs.src!), "src"),
  sink: async (attrs, ctx) => localCacheStorage(resolve(ctx.cwd, attrs.dest!), "dest"),
});

registerCacheBackend({
  type: "registry",
  importAttrs: ["ref"],
  exportAttrs: ["ref", "compression", "oci-mediatypes", "image-manifest"],
  modes: ["min", "max"],
  check(attrs, flag) {
    cacheReference(need(attrs, "ref", flag, "registry"), flag);
    checkWriteAttrs(attrs, flag);
  },
  async source(attrs, ctx) {
    return registryCacheStorage(await ctx.registry(), cacheReference(attrs.ref!, "--cache-from"), attrs.ref!);
  },
  async sink(attrs, ctx) {
    return registryCacheStorage(await ctx.registry(), cacheReference(attrs.ref!, "--cache-to"), attrs.ref!);
  },
});

// The records ride in the exported image's config (api/build/inline-cache.ts); it is read back with
// `--cache-from REF` (type=registry) from the pushed image.
registerCacheBackend({ type: "inline", exportAttrs: [], modes: ["min"] });

/**
 * What polyarch writes is fixed where buildx offers a choice that changes nothing here or would make a cache
 * this machine could not use as is: the format is OCI media types in an index, layers gzip as the solver
 * makes them.
 */
function checkWriteAttrs(attrs: Readonly<Record<string, string>>, flag: string): void {
  if (flag !== "--cache-to") return;
  const bool = (name: string, want: string, why: string) => {
    const v = attrs[name];
    if (v === undefined) return;
    if (v !== "true" && v !== "false") throw new UserError(`${flag} ${name} must be true or false`);
    if (v !== want) throw new UserError(`${flag} ${name}=${v} is not supported`, { hint: why });
  };
  bool(
    "oci-mediatypes",
    "true",
    "the cache is an OCI artifact (an OCI index of OCI manifests); leave it out",
  );
  bool(
    "image-manifest",
    "false",
    "the cache is an image index with one manifest per platform, which every distribution-spec registry takes; leave it out",
  );
  const c = attrs.compression;
  if (c !== undefined && c !== "gzip")
    throw new UserError(`${flag} compression=${c} is not supported yet`, {
      hint: "cache layers are the gzip layers the build makes (a hit must give the same image bytes); use compression=gzip or leave it out",
    });
}
