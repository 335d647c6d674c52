/**
 * --cache-from / --cache-to around a solve: caches are read before anything runs (their records become hits
 * like the local index's), and the build's layer records are written after the outputs.
 */

import type { ContentStore } from "../../content/types.ts";
import { UserError } from "../../errors/user-error.ts";
import { type ImportedCache, readCacheLayout, writeCacheLayout } from "../../solver/cache-layout.ts";
import type { CacheMountArchive } from "../../solver/cache-mount-archive.ts";
import type { ResultRef } from "../../solver/types.ts";

/** `--cache-from type=local,src=DIR[,ignore-error=true]`. */
export interface CacheImport {
  type: "local";
  src: string;
  ignoreError?: boolean;
}

/** `--cache-to type=local,dest=DIR[,mode=min][,ignore-error=true][,cache-mounts=true]`. */
export interface CacheExport {
  type: "local";
  dest: string;
  mode: "min";
  ignoreError?: boolean;
  /** Also the contents of the build's cache mounts (by id, per platform). */
  cacheMounts?: boolean;
}

/** Reads every --cache-from; one that cannot be read fails the build unless it says ignore-error=true. */
export async function importCaches(
  imports: readonly CacheImport[],
  warn: (message: string) => void,
): Promise<ImportedCache[]> {
  const caches: ImportedCache[] = [];
  for (const i of imports) {
    try {
      caches.push(await readCacheLayout(i.src));
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      if (!i.ignoreError)
        throw new UserError(`--cache-from type=local,src=${i.src}: ${why}`, {
          hint: "fix or remove the cache directory, or add ignore-error=true to build without it",
        });
      warn(`--cache-from type=local,src=${i.src} is not used: ${why}`);
    }
  }
  return caches;
}

/** Writes every --cache-to with the build's layers (mode=min: the layers of the exported images). */
export async function exportCaches(
  exports: readonly CacheExport[],
  refs: readonly ResultRef[],
  store: ContentStore,
  warn: (message: string) => void,
  archiveMounts: () => Promise<CacheMountArchive[]> = async () => [],
): Promise<void> {
  // Archived once, for every export that asks for them.
  let mounts: Promise<CacheMountArchive[]> | undefined;
  const mountsOnce = () => {
    mounts ??= archiveMounts();
    return mounts;
  };
  for (const x of exports) {
    try {
      await writeCacheLayout(
        x.dest,
        refs.map((r) => r.cache()),
        (d) => store.readStream(d.digest),
        x.cacheMounts ? await mountsOnce() : [],
      );
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      if (!x.ignoreError)
        throw new UserError(`--cache-to type=local,dest=${x.dest}: ${why}`, {
          hint: "check that the directory is writable, or add ignore-error=true",
        });
      warn(`--cache-to type=local,dest=${x.dest} was not written: ${why}`);
    }
  }
}
