import { Readable, Transform, type TransformCallback } from "node:stream";
import { UserError } from "../../errors/user-error.ts";
import { type Digest, Digester, DigestMismatchError, digestAlgorithm } from "../digest.ts";

/** Bytes of one blob: a Node stream, any async iterable of chunks, or bytes in memory. */
export type LayoutBlobSource = AsyncIterable<Uint8Array> | Readable | Uint8Array;

/** A source given directly, or a function that opens it when the blob is actually written. */
export type LayoutBlobOpener = LayoutBlobSource | (() => LayoutBlobSource | Promise<LayoutBlobSource>);

export async function openSource(opener: LayoutBlobOpener): Promise<LayoutBlobSource> {
  return typeof opener === "function" ? await opener() : opener;
}

export function toReadable(source: LayoutBlobSource): Readable {
  if (source instanceof Readable) return source;
  if (source instanceof Uint8Array) return Readable.from([source], { objectMode: false });
  return Readable.from(source, { objectMode: false });
}

/**
 * Passes bytes through unchanged while hashing them; fails the stream when the total differs from the
 * expected size (as soon as it is exceeded) or the digest does not match at the end.
 */
export class VerifyingStream extends Transform {
  readonly #digest: Digest;
  readonly #size: number;
  readonly #where: string;
  readonly #digester: Digester;

  constructor(expected: { digest: Digest; size: number }, where: string) {
    super();
    this.#digest = expected.digest;
    this.#size = expected.size;
    this.#where = where;
    this.#digester = new Digester(digestAlgorithm(expected.digest));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#digester.update(chunk);
    if (this.#digester.size > this.#size) {
      callback(sizeError(this.#where, this.#size, this.#digester.size, true));
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#digester.size !== this.#size) {
      callback(sizeError(this.#where, this.#size, this.#digester.size, false));
      return;
    }
    const actual = this.#digester.digest();
    callback(actual === this.#digest ? null : new DigestMismatchError(this.#digest, actual, this.#where));
  }
}

function sizeError(where: string, expected: number, actual: number, atLeast: boolean): UserError {
  return new UserError(
    `${where}: size does not match its descriptor (expected ${expected} bytes, got ${atLeast ? "more than " : ""}${actual})`,
    { hint: "the blob is truncated or corrupted; re-create the layout from its source" },
  );
}
