import type { FileHandle } from "node:fs/promises";
import { mkdir, open, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { attachDirectory } from "../errors/environment-error.ts";
import { type Digest, Digester, DigestMismatchError, digestAlgorithm, digestHex } from "../oci/digest.ts";
import { SizeMismatchError } from "./errors.ts";
import { fsyncDir, isNotFound, uniqueSuffix } from "./fs-util.ts";
import type { BlobInfo, BlobWriter, ExpectedBlob, WriteOptions } from "./types.ts";

/** What a writer needs of its store: where temp files go, where blobs land, and what to do after. */
export interface IngestTarget {
  ingestDir: string;
  blobPath(digest: Digest): string;
  afterCommit(info: BlobInfo, options: WriteOptions): Promise<void>;
}

/**
 * Streams into a temp file under ingest/, hashing as it goes; commit verifies, fsyncs and renames into
 * blobs/. Each writer has its own temp file, so two processes writing the same blob never share bytes:
 * both renames put identical content in place, and the rename is atomic, so readers see one whole file.
 */
export class IngestWriter implements BlobWriter {
  readonly #target: IngestTarget;
  readonly #expected: ExpectedBlob | undefined;
  readonly #options: WriteOptions;
  readonly #tmp: string;
  readonly #handle: FileHandle;
  readonly #digester: Digester;
  #state: "open" | "committing" | "done" = "open";

  private constructor(
    target: IngestTarget,
    expected: ExpectedBlob | undefined,
    options: WriteOptions,
    tmp: string,
    handle: FileHandle,
  ) {
    this.#target = target;
    this.#expected = expected;
    this.#options = options;
    this.#tmp = tmp;
    this.#handle = handle;
    this.#digester = new Digester(expected ? digestAlgorithm(expected.digest) : "sha256");
  }

  static async open(
    target: IngestTarget,
    expected: ExpectedBlob | undefined,
    options: WriteOptions = {},
  ): Promise<IngestWriter> {
    const label = expected ? `${digestAlgorithm(expected.digest)}-${digestHex(expected.digest)}` : "unknown";
    const tmp = join(target.ingestDir, `${label}-${uniqueSuffix()}`);
    // Read-only from the start: a committed blob is immutable, and consumers get it by path.
    const handle = await open(tmp, "wx", 0o444).catch((e: unknown) => {
      throw attachDirectory(e, target.ingestDir);
    });
    return new IngestWriter(target, expected, options, tmp, handle);
  }

  get written(): number {
    return this.#digester.size;
  }

  get #where(): string {
    return this.#options.where ?? "content written to the store";
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#state !== "open") throw new Error("BlobWriter.write after commit or abort");
    const limit = this.#expected?.size;
    if (limit !== undefined && this.written + chunk.byteLength > limit) {
      const seen = this.written + chunk.byteLength;
      await this.abort();
      throw new SizeMismatchError(limit, seen, this.#where, true);
    }
    this.#digester.update(chunk);
    try {
      let offset = 0;
      while (offset < chunk.byteLength) {
        const { bytesWritten } = await this.#handle.write(chunk, offset, chunk.byteLength - offset);
        offset += bytesWritten;
      }
    } catch (e) {
      throw await this.#failed(e);
    }
  }

  async writev(chunks: readonly Uint8Array[]): Promise<void> {
    if (this.#state !== "open") throw new Error("BlobWriter.writev after commit or abort");
    let total = 0;
    for (const c of chunks) total += c.byteLength;
    const limit = this.#expected?.size;
    if (limit !== undefined && this.written + total > limit) {
      const seen = this.written + total;
      await this.abort();
      throw new SizeMismatchError(limit, seen, this.#where, true);
    }
    for (const c of chunks) this.#digester.update(c);
    // One syscall for many network-sized chunks, without copying them into one buffer first.
    const pending = [...chunks];
    try {
      while (pending.length) {
        const { bytesWritten } = await this.#handle.writev(pending);
        let left = bytesWritten;
        while (pending.length && left >= pending[0]!.byteLength) left -= pending.shift()!.byteLength;
        if (left > 0 && pending.length) pending[0] = pending[0]!.subarray(left);
      }
    } catch (e) {
      throw await this.#failed(e);
    }
  }

  /**
   * A write that failed (a full disk, most often) leaves a partial temp file nobody will finish: it goes
   * at once, giving its space back, and the error names the directory that filled up.
   */
  async #failed(e: unknown): Promise<unknown> {
    await this.#discard();
    return attachDirectory(e, this.#target.ingestDir);
  }

  async commit(): Promise<BlobInfo> {
    if (this.#state !== "open") throw new Error("BlobWriter.commit after commit or abort");
    this.#state = "committing";
    try {
      const size = this.written;
      const digest = this.#digester.digest();
      const expected = this.#expected;
      if (expected?.size !== undefined && size !== expected.size) {
        throw new SizeMismatchError(expected.size, size, this.#where);
      }
      if (expected && digest !== expected.digest) {
        throw new DigestMismatchError(expected.digest, digest, this.#where);
      }
      await this.#handle.sync();
      await this.#handle.close();
      const final = this.#target.blobPath(digest);
      await mkdir(dirname(final), { recursive: true });
      try {
        await rename(this.#tmp, final);
      } catch (e) {
        if (isNotFound(e)) {
          throw new Error(`ingest file ${this.#tmp} vanished before commit (removed as stale?)`, {
            cause: e,
          });
        }
        throw e;
      }
      await fsyncDir(dirname(final));
      this.#state = "done";
      const info = { digest, size };
      await this.#target.afterCommit(info, this.#options);
      return info;
    } catch (e) {
      await this.#discard();
      throw attachDirectory(e, this.#target.ingestDir);
    }
  }

  async abort(): Promise<void> {
    if (this.#state === "done") return;
    await this.#discard();
  }

  async #discard(): Promise<void> {
    this.#state = "done";
    await this.#handle.close().catch(() => {});
    await unlink(this.#tmp).catch(() => {});
  }
}
