/** `type=local`: the cache as an OCI layout directory; its index is the entry named `cache` in index.json. */
import type { Readable } from "node:stream";
import type { Descriptor } from "../oci/descriptor.ts";
import { OciLayoutReader, OciLayoutWriter } from "../oci/layout/index.ts";
import type { ImageIndex } from "../oci/manifest.ts";
import type { CacheStorage, CacheWriter } from "./cache-storage.ts";

const cacheRefName = "cache";

export function localCacheStorage(dir: string, role: "src" | "dest"): CacheStorage {
  let reader: Promise<OciLayoutReader | undefined> | undefined;
  const open = () => {
    reader ??= OciLayoutReader.open(dir).catch(() => undefined);
    return reader;
  };
  const need = async (): Promise<OciLayoutReader> => {
    const r = await open();
    if (!r) throw new Error(`${dir} is not an OCI layout`);
    return r;
  };
  return {
    where: `type=local,${role}=${dir}`,
    async readIndex(): Promise<ImageIndex | undefined> {
      const r = await open();
      if (!r) return undefined;
      try {
        const doc = await r.readManifest(r.resolve(cacheRefName));
        return doc.kind === "index" ? doc.index : undefined;
      } catch {
        return undefined;
      }
    },
    async readBytes(d: Descriptor, maxBytes: number): Promise<Buffer> {
      return (await need()).readBytes(d, maxBytes);
    },
    async openBlob(d: Descriptor): Promise<Readable> {
      return (await need()).readStream({ digest: d.digest, size: d.size });
    },
    writer(): CacheWriter {
      const w = new OciLayoutWriter();
      return {
        blob: (d, data) => {
          w.addBlob(d, data);
        },
        manifest: (d, bytes) => {
          w.addBlob(d, bytes);
        },
        async commit(index, bytes) {
          w.addBlob(index, bytes);
          w.addIndexEntry(index, { refName: cacheRefName });
          await w.writeDirectory(dir, { replaceIndex: true });
          reader = undefined;
        },
      };
    },
  };
}
