/**
 * Several blob providers read as one: each blob comes from the first that has it. The local store first,
 * then a remote source (a registry, an imported cache): a blob already here is never fetched, one still
 * there is fetched only when read. Nothing read through it is written to the local store.
 */
import type { Readable } from "node:stream";
import { UserError } from "../errors/user-error.ts";
import type { Digest } from "../oci/digest.ts";
import type { BlobInfo, BlobProvider } from "./types.ts";

export function layeredProvider(...providers: BlobProvider[]): BlobProvider {
  const holder = async (digest: Digest): Promise<BlobProvider | undefined> => {
    for (const p of providers) if (await p.has(digest)) return p;
    return undefined;
  };
  const need = async (digest: Digest): Promise<BlobProvider> => {
    const p = await holder(digest);
    if (!p)
      throw new UserError(`blob ${digest} is in none of the blob sources (the local store, the registry)`);
    return p;
  };
  return {
    async has(digest) {
      return (await holder(digest)) !== undefined;
    },
    async info(digest): Promise<BlobInfo | undefined> {
      return (await holder(digest))?.info(digest);
    },
    async readStream(digest, range): Promise<Readable> {
      return (await need(digest)).readStream(digest, range);
    },
    async readBytes(digest, maxBytes) {
      return (await need(digest)).readBytes(digest, maxBytes);
    },
    async labels(digest) {
      return (await (await holder(digest))?.labels?.(digest)) ?? {};
    },
  };
}
