/**
 * --cache-from / --cache-to around a solve: caches are read before anything runs (their records become hits
 * like the local index's), and the build's records are written after the outputs. Where each lives is its
 * backend's business (cache-backends.ts).
 */

import type { Readable } from "node:stream";
import type { ContentStore } from "../../content/types.ts";
import { UserError } from "../../errors/user-error.ts";
import type { Descriptor } from "../../oci/descriptor.ts";
import { type ImportedCache, type PlatformCache, readCache, writeCache } from "../../solver/cache-layout.ts";
import type { CacheMountArchive } from "../../solver/cache-mount-archive.ts";
import type { ResultRef } from "../../solver/types.ts";
import {
  type CacheBackendContext,
  type CacheExport,
  type CacheImport,
  cacheBackend,
} from "./cache-backends.ts";

export type { CacheExport, CacheImport } from "./cache-backends.ts";

export function describeCache(c: { type: string; attrs: Readonly<Record<string, string>> }): string {
  return [`type=${c.type}`, ...Object.entries(c.attrs).map(([k, v]) => `${k}=${v}`)].join(",");
}

/** Reads every --cache-from; one that cannot be read fails the build unless it says ignore-error=true. */
export async function importCaches(
  imports: readonly CacheImport[],
  ctx: CacheBackendContext,
  warn: (message: string) => void,
): Promise<ImportedCache[]> {
  const caches: ImportedCache[] = [];
  for (const i of imports) {
    const what = describeCache(i);
    try {
      const backend = cacheBackend(i.type);
      if (!backend?.source) throw new UserError(`cache type ${JSON.stringify(i.type)} cannot be read from`);
      caches.push(await readCache(await backend.source(i.attrs, ctx)));
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      if (!i.ignoreError)
        throw new UserError(`--cache-from ${what}: ${why}`, {
          hint: "fix or remove the cache, or add ignore-error=true to build without it",
        });
      warn(`--cache-from ${what} is not used: ${why}`);
    }
  }
  return caches;
}

/**
 * Writes every --cache-to with the build's records (mode=max: with every step's result chain;
 * cache-mounts=true: with the contents of the build's cache mounts).
 */
export async function exportCaches(
  exports: readonly CacheExport[],
  refs: readonly ResultRef[],
  store: ContentStore,
  ctx: CacheBackendContext,
  warn: (message: string) => void,
  imported: readonly ImportedCache[] = [],
  archiveMounts: () => Promise<CacheMountArchive[]> = async () => [],
): Promise<void> {
  // Archived once, for every export that asks for them.
  let mounts: Promise<CacheMountArchive[]> | undefined;
  const mountsOnce = () => {
    mounts ??= archiveMounts();
    return mounts;
  };
  // A blob of a record carried on from an imported cache may be only there (verified as it is read).
  const open = async (d: Descriptor): Promise<Readable> => {
    if (await store.has(d.digest)) return store.readStream(d.digest);
    for (const c of imported) {
      try {
        return await c.open(d);
      } catch {
        // the next cache may have it
      }
    }
    return store.readStream(d.digest);
  };
  let max: Promise<PlatformCache[]> | undefined;
  for (const x of exports) {
    const backend = cacheBackend(x.type);
    if (!backend?.sink) continue;
    const what = describeCache(x);
    try {
      if (x.mode === "max" && !max)
        max = Promise.all(refs.map(async (r) => ({ ...r.cache(), chains: await r.cacheChains() })));
      const platforms = max && x.mode === "max" ? await max : refs.map((r) => r.cache());
      await writeCache(
        await backend.sink(x.attrs, ctx),
        platforms,
        open,
        x.cacheMounts ? await mountsOnce() : [],
      );
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      if (!x.ignoreError)
        throw new UserError(`--cache-to ${what}: ${why}`, {
          hint: "check that the destination is writable (and reachable), or add ignore-error=true",
        });
      warn(`--cache-to ${what} was not written: ${why}`);
    }
  }
}
