import { UserError } from "../errors/user-error.ts";
import type { Digest } from "../oci/digest.ts";

/** A blob the caller asked for is not in the store. */
export class BlobNotFoundError extends UserError {
  override name = "BlobNotFoundError";
  readonly digest: Digest;

  constructor(digest: Digest, root: string) {
    super(`blob ${digest} is not in the content store at ${root}`, {
      hint: "pull or build the image again so its blobs are fetched; a gc may have removed it",
    });
    this.digest = digest;
  }
}

/** The bytes written are more or fewer than the size they were announced with. Nothing was stored. */
export class SizeMismatchError extends UserError {
  override name = "SizeMismatchError";
  readonly expected: number;
  readonly actual: number;

  constructor(expected: number, actual: number, where: string, atLeast = false) {
    super(
      `${where}: content size does not match its descriptor (expected ${expected} bytes, got ${atLeast ? "more than " : ""}${actual})`,
      {
        hint: "the source served truncated or corrupted data; nothing was stored. Retry, or check the source",
      },
    );
    this.expected = expected;
    this.actual = actual;
  }
}
