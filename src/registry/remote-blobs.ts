/**
 * A registry repository as a blob provider (the content store's read side, content/types.ts): a blob is
 * asked of the registry only when it is read, and verified against its digest as it streams, exactly as a
 * pull verifies it. Layered over the local store (content/layered-provider.ts) it lets an export or a push
 * use blobs that are still in a registry — a base image's layers, an imported cache's — without pulling
 * what the output does not need.
 */
import { Readable } from "node:stream";
import type { BlobInfo, BlobProvider } from "../content/index.ts";
import { VerifiedBlobStream } from "../content/verified-read.ts";
import { UserError } from "../errors/user-error.ts";
import type { Digest } from "../oci/digest.ts";
import type { RepositoryClient } from "./repository-client.ts";

const defaultMaxBytes = 16 * 1024 * 1024;

export class RegistryBlobProvider implements BlobProvider {
  readonly #repo: RepositoryClient;
  /** Sizes known from descriptors, so `info` needs no request. */
  readonly #sizes = new Map<Digest, number>();

  constructor(repo: RepositoryClient, known: Iterable<{ digest: Digest; size: number }> = []) {
    this.#repo = repo;
    for (const d of known) this.#sizes.set(d.digest, d.size);
  }

  #where(digest: Digest): string {
    return `${this.#repo.transport.registry}/${this.#repo.repository}@${digest}`;
  }

  has(digest: Digest): Promise<boolean> {
    return this.#repo.hasBlob(digest);
  }

  async info(digest: Digest): Promise<BlobInfo | undefined> {
    const size = this.#sizes.get(digest);
    if (size !== undefined) return (await this.has(digest)) ? { digest, size } : undefined;
    if (!(await this.has(digest))) return undefined;
    const { body, size: length } = await this.#repo.openBlob(digest);
    body.destroy();
    return length === undefined ? undefined : { digest, size: length };
  }

  async readStream(digest: Digest, range?: { start?: number; end?: number }): Promise<Readable> {
    if (range) throw new Error("registry blobs: byte ranges are not supported");
    const { body } = await this.#repo.openBlob(digest);
    const where = this.#where(digest);
    const verified = new VerifiedBlobStream(
      digest,
      async (actual) =>
        new UserError(`${where}: the registry sent bytes that hash to ${actual}`, {
          hint: "the registry serves wrong content for this digest (or it was tampered with); push the image again",
        }),
    );
    const source = Readable.from(body as AsyncIterable<Uint8Array>);
    source.on("error", (e) => verified.destroy(e));
    verified.on("close", () => source.destroy());
    return source.pipe(verified);
  }

  async readBytes(digest: Digest, maxBytes = defaultMaxBytes): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    const stream = await this.readStream(digest);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        stream.destroy();
        throw new UserError(`${this.#where(digest)} is larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }
}
