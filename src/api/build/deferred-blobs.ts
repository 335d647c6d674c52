/**
 * Imported cache blobs left in their registry until something reads them (SolverOptions.deferImportedBlobs):
 * the store the exporters and the cache export are given answers for them as if they were here, with their
 * distribution source as a label, so a push to the same registry HEADs or mounts them and never downloads
 * them. A read fetches the blob into the local store through the verifying ingester first.
 */
import type { Readable } from "node:stream";
import type { BlobInfo, ContentStore } from "../../content/types.ts";
import type { Descriptor } from "../../oci/descriptor.ts";
import type { Digest } from "../../oci/digest.ts";
import type { ImportedCache } from "../../solver/cache-layout.ts";
import type { DeferredBlobs } from "../../solver/types.ts";

export class DeferredBlobStore implements DeferredBlobs {
  readonly #local: ContentStore;
  readonly #waiting = new Map<Digest, { descriptor: Descriptor; cache: ImportedCache }>();
  readonly #fetches = new Map<Digest, Promise<void>>();

  constructor(local: ContentStore) {
    this.#local = local;
  }

  defer(descriptor: Descriptor, cache: ImportedCache): void {
    if (!this.#waiting.has(descriptor.digest)) this.#waiting.set(descriptor.digest, { descriptor, cache });
  }

  async #fetch(digest: Digest): Promise<void> {
    const waiting = this.#waiting.get(digest);
    if (!waiting || (await this.#local.has(digest))) return;
    let p = this.#fetches.get(digest);
    if (!p) {
      const { descriptor, cache } = waiting;
      p = (async () => {
        const blob = await cache.open(descriptor);
        blob.on("error", () => {});
        await this.#local.write({ digest, size: descriptor.size }, blob, {
          where: cache.where,
          ...(cache.labels ? { labels: cache.labels } : {}),
        });
      })();
      this.#fetches.set(digest, p);
      p.catch(() => this.#fetches.delete(digest));
    }
    await p;
  }

  /** The local store, with the deferred blobs readable through it. */
  store(): ContentStore {
    const local = this.#local;
    const waiting = this.#waiting;
    const fetch = (d: Digest) => this.#fetch(d);
    const overrides = {
      async has(digest: Digest): Promise<boolean> {
        return waiting.has(digest) || (await local.has(digest));
      },
      async info(digest: Digest): Promise<BlobInfo | undefined> {
        const w = waiting.get(digest);
        return (await local.info(digest)) ?? (w ? { digest, size: w.descriptor.size } : undefined);
      },
      async readStream(digest: Digest, range?: { start?: number; end?: number }): Promise<Readable> {
        await fetch(digest);
        return local.readStream(digest, range);
      },
      async readBytes(digest: Digest, maxBytes?: number): Promise<Buffer> {
        await fetch(digest);
        return local.readBytes(digest, maxBytes);
      },
      async labels(digest: Digest): Promise<Record<string, string>> {
        return { ...waiting.get(digest)?.cache.labels, ...(await local.labels(digest)) };
      },
    };
    return new Proxy(local, {
      get(target, prop) {
        if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof typeof overrides];
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  }
}
