import { createHash, type Hash } from "node:crypto";
import { UserError } from "../errors/user-error.ts";

/** A content digest `algorithm:hex` as the OCI image spec defines it. Only sha256 and sha512 are accepted. */
export type Digest = string & { readonly __brand: "Digest" };
export type DigestAlgorithm = "sha256" | "sha512";

const hexLength: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export function isDigest(value: string): value is Digest {
  const colon = value.indexOf(":");
  if (colon < 0) return false;
  const algorithm = value.slice(0, colon) as DigestAlgorithm;
  const hex = value.slice(colon + 1);
  const length = hexLength[algorithm];
  return length !== undefined && hex.length === length && /^[a-f0-9]+$/.test(hex);
}

export function parseDigest(value: string, where = "digest"): Digest {
  if (isDigest(value)) return value;
  const algorithm = value.split(":")[0] ?? "";
  if (value.includes(":") && !(algorithm in hexLength)) {
    throw new UserError(`${where}: unsupported digest algorithm "${algorithm}" in ${JSON.stringify(value)}`, {
      hint: "polyarch supports sha256 and sha512 digests",
    });
  }
  throw new UserError(`${where}: ${JSON.stringify(value)} is not a valid digest`, {
    hint: "a digest looks like sha256: followed by 64 lowercase hex characters",
  });
}

export function digestAlgorithm(digest: Digest): DigestAlgorithm {
  return digest.slice(0, digest.indexOf(":")) as DigestAlgorithm;
}

export function digestHex(digest: Digest): string {
  return digest.slice(digest.indexOf(":") + 1);
}

export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = "sha256"): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest("hex")}` as Digest;
}

/** Incremental digest of a stream of chunks, for verifying blobs without holding them in memory. */
export class Digester {
  readonly algorithm: DigestAlgorithm;
  #hash: Hash;
  #size = 0;

  constructor(algorithm: DigestAlgorithm = "sha256") {
    this.algorithm = algorithm;
    this.#hash = createHash(algorithm);
  }

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#size += chunk.byteLength;
  }

  get size(): number {
    return this.#size;
  }

  digest(): Digest {
    return `${this.algorithm}:${this.#hash.digest("hex")}` as Digest;
  }
}

/** Thrown when bytes do not match the digest they were fetched or stored under. */
export class DigestMismatchError extends UserError {
  readonly expected: Digest;
  readonly actual: Digest;

  constructor(expected: Digest, actual: Digest, where: string) {
    super(`${where}: content does not match its digest (expected ${expected}, got ${actual})`, {
      hint: "the source served corrupted or tampered data; nothing was stored. Retry, or check the source",
    });
    this.expected = expected;
    this.actual = actual;
  }
}
