import { createHash } from "node:crypto";
import { mkdir, open, readdir, readFile, stat, unlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { pipeline, type Readable } from "node:stream";
import { jsonSyntaxProblem } from "../errors/json-syntax.ts";
import { UserError } from "../errors/user-error.ts";
import { orphanedTemp } from "../fsutil/orphans.ts";
import { type Descriptor, parseDescriptor } from "../oci/descriptor.ts";
import { type Digest, digestAlgorithm, digestHex, digestOf, isDigest } from "../oci/digest.ts";
import { IngestWriter } from "./blob-writer.ts";
import { BlobNotFoundError } from "./errors.ts";
import { fsyncDir, isNotFound, writeFileAtomic } from "./fs-util.ts";
import { collectGarbage } from "./gc.ts";
import { defaultContentRoot, defaultStateDir } from "./paths.ts";
import { chunksOf, discardSource } from "./source.ts";
import { prepareStateRoot } from "./state-root.ts";
import {
  type BlobInfo,
  type BlobSource,
  type BlobWriter,
  type ContentStore,
  type ExpectedBlob,
  type GcOptions,
  type GcResult,
  gcRefLabelPrefix,
  type StoreRef,
  type WriteOptions,
} from "./types.ts";
import { CorruptBlobError, VerifiedBlobStream } from "./verified-read.ts";

const dayMs = 24 * 60 * 60 * 1000;
const defaultMaxBytes = 16 * 1024 * 1024;

/**
 * Opens (creating when needed) a content store; `root` defaults to `<state dir>/content`, and then the state
 * directory is checked first (see state-root.ts). A caller giving `root` prepares its own state directory.
 */
export async function openContentStore(given?: string): Promise<LocalContentStore> {
  if (given === undefined) await prepareStateRoot(defaultStateDir());
  const root = given ?? defaultContentRoot();
  const store = new LocalContentStore(root);
  try {
    for (const dir of ["blobs", "ingest", "labels", "refs"])
      await mkdir(join(root, dir), { recursive: true });
  } catch (e) {
    throw new UserError(`cannot create the content store at ${root}: ${(e as Error).message}`, {
      hint: "set POLYARCH_ROOT to a writable directory",
      cause: e,
    });
  }
  await store.sweepOrphans().catch(() => 0);
  return store;
}

/** A blob with its modification time, as gc needs it. */
export interface StoredBlob extends BlobInfo {
  mtimeMs: number;
}

/** The content store on a local filesystem. See ContentStore (types.ts) for the contract of each method. */
export class LocalContentStore implements ContentStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  path(digest: Digest): string {
    return join(this.root, "blobs", digestAlgorithm(digest), digestHex(digest));
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.info(digest)) !== undefined;
  }

  async info(digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const s = await stat(this.path(digest));
      return s.isFile() ? { digest, size: s.size } : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async readStream(digest: Digest, range: { start?: number; end?: number } = {}): Promise<Readable> {
    const handle = await this.#openBlob(digest);
    if (range.start !== undefined || range.end !== undefined) {
      // A part cannot be checked against the whole's digest; ranges are for peeking (e.g. magic bytes).
      return handle.createReadStream({ start: range.start, end: range.end, autoClose: true });
    }
    const { ino } = await handle.stat();
    const verified = new VerifiedBlobStream(digest, (actual) => this.#damaged(digest, actual, ino));
    // 64 KiB reads, not 1 MiB: every read is a new buffer that only a garbage collection frees, and with
    // 1 MiB ones a 200 MB blob sent into an OCI archive left ~40 MB more of them waiting (peak RSS).
    const file = handle.createReadStream({ autoClose: true, highWaterMark: 64 * 1024 });
    pipeline(file, verified, () => {});
    return verified;
  }

  /**
   * A stored blob no longer matches its digest. Its file is removed, unless it was replaced meanwhile (a
   * concurrent write of the same blob renames good bytes into place), so the next build fetches or builds
   * it again; its labels stay, they describe the content, not the damaged copy.
   */
  async #damaged(digest: Digest, actual: Digest, ino: number): Promise<CorruptBlobError> {
    const path = this.path(digest);
    let removed = false;
    try {
      if ((await stat(path)).ino === ino) {
        await unlink(path);
        removed = true;
      }
    } catch (e) {
      if (isNotFound(e)) removed = true;
    }
    return new CorruptBlobError(digest, actual, path, removed);
  }

  async readBytes(digest: Digest, maxBytes = defaultMaxBytes): Promise<Buffer> {
    const handle = await this.#openBlob(digest);
    try {
      const { size } = await handle.stat();
      if (size > maxBytes) {
        throw new UserError(`blob ${digest} is ${size} bytes, more than the ${maxBytes} read into memory`, {
          hint: "stream large blobs with readStream",
        });
      }
      const bytes = await handle.readFile();
      const actual = digestOf(bytes, digestAlgorithm(digest));
      if (actual !== digest) throw await this.#damaged(digest, actual, (await handle.stat()).ino);
      return bytes;
    } finally {
      await handle.close();
    }
  }

  async #openBlob(digest: Digest) {
    try {
      return await open(this.path(digest), "r");
    } catch (e) {
      if (isNotFound(e)) throw new BlobNotFoundError(digest, this.root);
      throw e;
    }
  }

  async write(
    expected: ExpectedBlob | undefined,
    source: BlobSource,
    options: WriteOptions = {},
  ): Promise<BlobInfo> {
    if (expected) {
      const present = await this.#touch(expected.digest);
      if (present && (expected.size === undefined || present.size === expected.size)) {
        await discardSource(source);
        if (options.labels) await this.setLabels(expected.digest, options.labels);
        return present;
      }
    }
    const writer = await this.openWriter(expected, options);
    try {
      for await (const chunk of chunksOf(source)) await writer.write(chunk);
    } catch (e) {
      await writer.abort();
      if (!(source instanceof Uint8Array)) await discardSource(source).catch(() => {});
      throw e;
    }
    return writer.commit();
  }

  /**
   * Refreshes a present blob's mtime so a concurrent gc's grace period covers it until the caller has
   * referenced it. Resolves undefined when the blob is absent.
   */
  async #touch(digest: Digest): Promise<BlobInfo | undefined> {
    const path = this.path(digest);
    try {
      const now = new Date();
      await utimes(path, now, now);
      return { digest, size: (await stat(path)).size };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  openWriter(expected: ExpectedBlob | undefined, options: WriteOptions = {}): Promise<BlobWriter> {
    return IngestWriter.open(
      {
        ingestDir: join(this.root, "ingest"),
        blobPath: (d) => this.path(d),
        afterCommit: async (info, opts) => {
          if (opts.labels) await this.setLabels(info.digest, opts.labels);
        },
      },
      expected,
      options,
    );
  }

  async delete(digest: Digest): Promise<boolean> {
    await unlink(this.#labelsPath(digest)).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
    try {
      await unlink(this.path(digest));
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
    return true;
  }

  async *list(): AsyncIterable<BlobInfo> {
    for await (const blob of this.listWithTimes()) yield { digest: blob.digest, size: blob.size };
  }

  /** Like list, with each blob's mtime (used by gc's grace period). */
  async *listWithTimes(): AsyncIterable<StoredBlob> {
    const blobs = join(this.root, "blobs");
    for (const algorithm of await readdirOrEmpty(blobs)) {
      for (const hex of await readdirOrEmpty(join(blobs, algorithm))) {
        const digest = `${algorithm}:${hex}`;
        if (!isDigest(digest)) continue;
        try {
          const s = await stat(join(blobs, algorithm, hex));
          if (s.isFile()) yield { digest, size: s.size, mtimeMs: s.mtimeMs };
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
    }
  }

  #labelsPath(digest: Digest): string {
    return join(this.root, "labels", digestAlgorithm(digest), `${digestHex(digest)}.json`);
  }

  async labels(digest: Digest): Promise<Record<string, string>> {
    let text: string;
    try {
      text = await readFile(this.#labelsPath(digest), "utf8");
    } catch (e) {
      if (isNotFound(e)) return {};
      throw e;
    }
    const value = parseStoreJson(text, this.#labelsPath(digest));
    if (typeof value !== "object" || value === null) return {};
    return Object.fromEntries(
      Object.entries(value).filter((kv): kv is [string, string] => typeof kv[1] === "string"),
    );
  }

  async setLabels(digest: Digest, labels: Record<string, string>): Promise<Record<string, string>> {
    const current = await this.labels(digest);
    const merged = { ...current };
    for (const [k, v] of Object.entries(labels)) {
      if (v === "") delete merged[k];
      else merged[k] = v;
    }
    // Labels already as asked (a blob pulled again from the same repository): nothing to write.
    if (JSON.stringify(sortedObject(merged)) === JSON.stringify(sortedObject(current))) return merged;
    const path = this.#labelsPath(digest);
    if (Object.keys(merged).length === 0) {
      await unlink(path).catch((e) => {
        if (!isNotFound(e)) throw e;
      });
      return merged;
    }
    await mkdir(join(this.root, "labels", digestAlgorithm(digest)), { recursive: true });
    // Labels are hints (where a blob came from, a conversion already made): a crash may forget them, and
    // the next build just works without. One that keeps other blobs from gc is a record and stays durable.
    const keepsBlobs = Object.keys(merged).some((k) => k.startsWith(gcRefLabelPrefix));
    await writeFileAtomic(path, JSON.stringify(sortedObject(merged)), { durableName: keepsBlobs });
    return merged;
  }

  #refPath(name: string): string {
    // Hashed so any name (slashes, colons, long image references) is one safe file name.
    return join(this.root, "refs", `${createHash("sha256").update(name).digest("hex")}.json`);
  }

  async setRef(name: string, descriptor: Descriptor): Promise<void> {
    await writeFileAtomic(this.#refPath(name), JSON.stringify({ name, descriptor }));
  }

  async getRef(name: string): Promise<Descriptor | undefined> {
    const ref = await this.#readRef(this.#refPath(name));
    return ref?.name === name ? ref.descriptor : undefined;
  }

  async deleteRef(name: string): Promise<boolean> {
    try {
      await unlink(this.#refPath(name));
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
    await fsyncDir(join(this.root, "refs"));
    return true;
  }

  async listRefs(): Promise<StoreRef[]> {
    const dir = join(this.root, "refs");
    const out: StoreRef[] = [];
    for (const file of await readdirOrEmpty(dir)) {
      if (!file.endsWith(".json")) continue;
      const ref = await this.#readRef(join(dir, file));
      if (ref) out.push(ref);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async #readRef(path: string): Promise<StoreRef | undefined> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    const doc = parseStoreJson(text, path) as { name?: unknown; descriptor?: unknown };
    if (typeof doc.name !== "string") return undefined;
    return { name: doc.name, descriptor: parseDescriptor(doc.descriptor, `content store ref ${doc.name}`) };
  }

  gc(options: GcOptions = {}): Promise<GcResult> {
    return collectGarbage(this, options);
  }

  /**
   * Removes what killed processes left: ingest files and metadata temp files whose writer is gone (their
   * names carry its pid: see fsutil/orphans.ts). A live writer's files are never touched.
   */
  async sweepOrphans(): Promise<number> {
    const dirs = [join(this.root, "ingest"), join(this.root, "refs")];
    for (const alg of await readdirOrEmpty(join(this.root, "labels")))
      dirs.push(join(this.root, "labels", alg));
    let removed = 0;
    for (const dir of dirs) {
      const isIngest = dir.endsWith("ingest");
      for (const name of await readdirOrEmpty(dir)) {
        if (!isIngest && !name.includes(".tmp-")) continue;
        const path = join(dir, name);
        if (await orphanedTemp(path, name)) {
          await unlink(path).then(
            () => removed++,
            () => {},
          );
        }
      }
    }
    return removed;
  }

  async cleanupIngest(olderThanMs = dayMs): Promise<number> {
    const dir = join(this.root, "ingest");
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const name of await readdirOrEmpty(dir)) {
      try {
        const s = await stat(join(dir, name));
        if (s.mtimeMs < cutoff) {
          await unlink(join(dir, name));
          removed++;
        }
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return removed;
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
}

/** Metadata files are written atomically, so a bad one means outside damage: say which file. */
function parseStoreJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`content store metadata ${path} is damaged (${jsonSyntaxProblem(e, text)})`, {
      hint: "remove the file; a removed ref or label only makes gc keep less",
    });
  }
}

function sortedObject(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
