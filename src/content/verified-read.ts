/**
 * Reads of a stored blob are checked against its digest every time. The store's files are written once and
 * verified then, but a disk, a careless tool or another user with access can change them later, and a blob
 * changed on disk must never be shipped (pushed, exported) or unpacked under the name of its old content.
 *
 * The check streams: bytes are hashed as they pass, and the last chunk is held back until the digest is
 * known, so a consumer never receives the whole of a corrupt blob. An upload therefore never completes, a
 * file written through a temp name is never renamed into place.
 */
import { Transform, type TransformCallback } from "node:stream";
import { UserError } from "../errors/user-error.ts";
import { type Digest, Digester, digestAlgorithm } from "../oci/digest.ts";

/** A stored blob whose bytes no longer match its digest. */
export class CorruptBlobError extends UserError {
  override name = "CorruptBlobError";
  readonly digest: Digest;
  readonly actual: Digest;

  constructor(digest: Digest, actual: Digest, path: string, removed: boolean) {
    super(
      `blob ${digest} in the content store (${path}) is damaged: its bytes changed on disk after it was stored (they now hash to ${actual}); the output or upload it was going to was stopped before completing`,
      {
        hint: removed
          ? "the damaged blob was removed from the store: run the build again, and it is pulled or built anew"
          : `remove ${path}, then run the build again so the blob is pulled or built anew`,
      },
    );
    this.digest = digest;
    this.actual = actual;
  }
}

/**
 * What to do on a mismatch: typically remove the damaged file (so the next build refetches or rebuilds it)
 * and return the error to report.
 */
export type OnCorrupt = (actual: Digest) => Promise<Error>;

/** Passes a blob's bytes through, failing instead of delivering the last chunk when the digest differs. */
export class VerifiedBlobStream extends Transform {
  readonly #expected: Digest;
  readonly #digester: Digester;
  readonly #onCorrupt: OnCorrupt;
  #held: Buffer | undefined;

  constructor(expected: Digest, onCorrupt: OnCorrupt) {
    super();
    this.#expected = expected;
    this.#digester = new Digester(digestAlgorithm(expected));
    this.#onCorrupt = onCorrupt;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#digester.update(chunk);
    const previous = this.#held;
    this.#held = chunk;
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.#digester.digest();
    if (actual === this.#expected) {
      if (this.#held !== undefined) this.push(this.#held);
      callback();
      return;
    }
    this.#held = undefined;
    this.#onCorrupt(actual).then(callback, callback);
  }
}
