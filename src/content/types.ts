import type { Readable } from "node:stream";
import type { Descriptor } from "../oci/descriptor.ts";
import type { Digest } from "../oci/digest.ts";

/**
 * The content store's public shape. Modelled on containerd's content store (Provider + Ingester + Manager,
 * plus a small metadata area), reduced to what a daemonless builder needs: no resumable ingests, no leases;
 * a grace period in `gc` protects blobs that are written but not yet referenced.
 *
 * On disk (root defaults to `<state dir>/content`, see `defaultStateDir`):
 *   blobs/<alg>/<hex>        committed blobs, immutable, only ever appear by an atomic rename
 *   ingest/                  temp files of writes in progress (cleaned by `cleanupIngest`)
 *   labels/<alg>/<hex>.json  per-blob labels
 *   refs/<sha256(name)>.json named roots: { name, descriptor }
 */

/** What is known of a stored blob. */
export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** What a write must produce. `size`, when given, is checked too (and bounds the bytes read). */
export interface ExpectedBlob {
  digest: Digest;
  size?: number;
}

/** Bytes to store: a Node stream, any async iterable of chunks (e.g. a fetch body), or bytes in memory. */
export type BlobSource = AsyncIterable<Uint8Array> | Readable | Uint8Array;

export interface WriteOptions {
  /** Names where the bytes came from, for error messages (e.g. `registry.example/app@sha256:…`). */
  where?: string;
  /** Labels merged into the blob's labels once it is committed (e.g. distribution source). */
  labels?: Record<string, string>;
}

/**
 * A streaming write into the store. Nothing is visible until `commit` succeeds; `abort` (or a failed
 * commit) removes the temp file. Call exactly one of `commit` / `abort`.
 */
export interface BlobWriter {
  /** Bytes written so far. */
  readonly written: number;
  /** Appends a chunk. Rejects with SizeMismatchError as soon as more bytes arrive than the expected size. */
  write(chunk: Uint8Array): Promise<void>;
  /** Appends several chunks with one vectored write (no copy into one buffer); same checks as `write`. */
  writev(chunks: readonly Uint8Array[]): Promise<void>;
  /**
   * Verifies digest and size, fsyncs, renames into place and fsyncs the directory. Rejects with
   * DigestMismatchError / SizeMismatchError (and stores nothing) when the bytes are not what was expected.
   * When the blob is already present (e.g. another process won the race) this still succeeds.
   */
  commit(): Promise<BlobInfo>;
  /** Discards everything written. Safe to call more than once or after a failed commit. */
  abort(): Promise<void>;
}

export interface GcOptions {
  /** Extra roots besides every ref in the store: digests (children found by sniffing) or descriptors. */
  roots?: Iterable<Digest | Descriptor>;
  /**
   * Blobs modified less than this long ago are kept even when unreferenced, so a concurrent writer whose
   * blob is committed but not yet referenced is never swept. Default 1 hour; 0 sweeps everything
   * unreferenced.
   */
  gracePeriodMs?: number;
  /** When true, report what would be removed without removing it. */
  dryRun?: boolean;
}

export interface GcResult {
  /** Blobs reachable from the roots (kept). */
  kept: number;
  /** Blobs removed (or, with dryRun, that would be). */
  removed: BlobInfo[];
  /** Bytes freed (or that would be). */
  freedBytes: number;
  /** Stale ingest files removed as part of the run. */
  ingestRemoved: number;
}

/** A named root in the store's metadata area: a cache record, a pulled image, a build result. */
export interface StoreRef {
  name: string;
  descriptor: Descriptor;
}

/**
 * The read side (containerd's Provider + Info): everything an exporter, a push or an unpack needs. The local
 * store is one; a remote source (a registry, another node, an imported cache) can be another, fetching a blob
 * only when it is read, so a lazy source reads like the local store.
 */
export interface BlobProvider {
  has(digest: Digest): Promise<boolean>;
  /** Digest and size of a blob, or undefined when absent. */
  info(digest: Digest): Promise<BlobInfo | undefined>;
  /**
   * A stream of the blob's bytes (optionally a byte range, `end` inclusive). The file is opened before this
   * resolves, so a missing blob rejects here with BlobNotFoundError, not later on the stream. A whole blob is
   * verified as it streams: when its bytes no longer match the digest the stream fails with CorruptBlobError
   * before its last chunk is delivered (the damaged file is removed from the store). Ranges are not verified.
   */
  readStream(digest: Digest, range?: { start?: number; end?: number }): Promise<Readable>;
  /**
   * The whole blob in memory, verified against its digest: for manifests, configs and other small blobs.
   * Rejects when the blob is larger than `maxBytes` (default 16 MiB) so a layer is never buffered by mistake.
   */
  readBytes(digest: Digest, maxBytes?: number): Promise<Buffer>;
  /**
   * The blob's labels ({} when none), when the source keeps any: a push reads the distribution source from
   * them to mount across repositories. A remote source may have none.
   */
  labels?(digest: Digest): Promise<Record<string, string>>;
}

/** The write side (containerd's Ingester): bytes in, verified, committed atomically. */
export interface BlobIngester {
  /**
   * Streams `source` into the store and returns what was stored. With `expected`, the bytes are verified
   * against its digest (and size); without it, the digest is computed (sha256). When the expected blob is
   * already present the source is not read (a Readable is destroyed, an iterator is returned) and the
   * existing blob's info is returned.
   */
  write(expected: ExpectedBlob | undefined, source: BlobSource, options?: WriteOptions): Promise<BlobInfo>;
  /** The writer form of `write`, for callers that push chunks (e.g. a registry download loop). */
  openWriter(expected: ExpectedBlob | undefined, options?: WriteOptions): Promise<BlobWriter>;
}

/** Managing the local store (containerd's Manager + metadata): listing, deleting, labels, named roots, gc. */
export interface BlobManager {
  /** Removes a blob and its labels. Resolves true when something was removed. */
  delete(digest: Digest): Promise<boolean>;
  /** Every committed blob, in no particular order. */
  list(): AsyncIterable<BlobInfo>;
  /** The blob's labels ({} when none). */
  labels(digest: Digest): Promise<Record<string, string>>;
  /**
   * Merges labels into the blob's labels; a value of "" removes that label. Each update is written
   * atomically; concurrent updates of one blob from two processes may lose one of them (last writer wins).
   */
  setLabels(digest: Digest, labels: Record<string, string>): Promise<Record<string, string>>;
  /** Names a descriptor (a gc root). Replaces an existing ref of that name atomically. */
  setRef(name: string, descriptor: Descriptor): Promise<void>;
  getRef(name: string): Promise<Descriptor | undefined>;
  deleteRef(name: string): Promise<boolean>;
  listRefs(): Promise<StoreRef[]>;
  /**
   * Mark and sweep: keeps every blob reachable from the refs, `options.roots`, and labels named
   * `gcRefLabelPrefix*` (whose value is a digest); manifests and indexes are followed to their config,
   * layers, manifests and subject. Also removes ingest files older than a day.
   */
  gc(options?: GcOptions): Promise<GcResult>;
  /** Removes ingest temp files not modified for `olderThanMs` (default 24 h). Resolves how many. */
  cleanupIngest(olderThanMs?: number): Promise<number>;
}

/** The local content store: all three sides, on one directory. */
export interface ContentStore extends BlobProvider, BlobIngester, BlobManager {
  /** The store's directory (holds blobs/, ingest/, labels/, refs/). */
  readonly root: string;
  labels(digest: Digest): Promise<Record<string, string>>;
  /**
   * Where the blob lives (or would live) on disk, for zero-copy consumers (hard links, reflinks, sendfile).
   * Does not check existence. Treat the file as read-only.
   */
  path(digest: Digest): string;
}

/** A blob label `polyarch.io/gc.ref.<anything>=<digest>` makes gc keep that digest while the blob is kept. */
export const gcRefLabelPrefix = "polyarch.io/gc.ref.";
/** Label recording which repository a blob came from, `polyarch.io/distribution.source.<registry>=<repo>`. */
export const distributionSourceLabelPrefix = "polyarch.io/distribution.source.";
