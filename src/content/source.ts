import { Readable } from "node:stream";
import type { BlobSource } from "./types.ts";

/** Iterates any accepted source as byte chunks (a Readable with an encoding set would yield strings). */
export async function* chunksOf(source: BlobSource): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    yield typeof chunk === "string" ? Buffer.from(chunk) : chunk;
  }
}

/** Releases a source that will not be read, so a socket or file behind it is not left open. */
export async function discardSource(source: BlobSource): Promise<void> {
  if (source instanceof Uint8Array) return;
  if (source instanceof Readable) {
    source.destroy();
    return;
  }
  const iterator = source[Symbol.asyncIterator]();
  await iterator.return?.();
}
