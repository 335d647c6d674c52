/**
 * The persistent cache index: cache key -> result, one small JSON file per key under `<solver>/index/`.
 *
 * - `chains/KEY.json`: the vertex's result as a chain of the worker's snapshots (by name).
 * - `layers/KEY.json`: a layer vertex's exported layer (blob descriptor + diff_id, or empty), so that a
 *   cached build exports without re-reading a single file.
 *
 * Every write is atomic (temp file, fsync, rename), and only results that are complete on disk are ever
 * recorded, so a crash or Ctrl-C leaves either the old entry or the new one (a power loss may forget the
 * newest, see #write). Two processes writing the
 * same key both write complete, equivalent entries; the last rename wins. A file that cannot be read or
 * parsed is a miss, never an error.
 */
import { mkdir, readdir, readFile, stat, unlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../content/fs-util.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import type { Digest } from "../oci/digest.ts";
import { type CacheKey, keyHex } from "./cache-key.ts";

/** A vertex's result: a chain of layer directories, and when the step that made its top one ran. */
export interface ChainRecord {
  /** The worker's snapshot names, bottom first. */
  chain: string[];
  /** ISO 8601; becomes the created time of the step's history entry (the same on every cached rebuild). */
  created?: string;
  /** The step's name as progress shows it (`[stage 2/3] RUN …`), for `polyarch du`. */
  description?: string;
}

/** A record as listed for garbage collection: its key's hex, its value, and when it was last used. */
export interface ListedRecord<T> {
  hex: string;
  record: T;
  usedMs: number;
}

/**
 * `created`: when the layer was made (ISO 8601). A cached build gives its history entry this time again,
 * so an unchanged build gives the same config bytes, as BuildKit does.
 */
export type LayerRecord = ({ empty: true } | { empty: false; descriptor: Descriptor; diffId: Digest }) & {
  created?: string;
};

/** A chain names the worker's snapshots: never a path, never `.` or `..`. */
function isDirName(n: unknown): boolean {
  return typeof n === "string" && /^[\w.:@+-]+$/.test(n) && n !== "." && n !== "..";
}

export class CacheIndex {
  readonly root: string;
  readonly #made = new Map<string, Promise<unknown>>();

  /** `root` is the solver's directory in the state dir. */
  constructor(root: string) {
    this.root = root;
  }

  getChain(key: CacheKey): Promise<ChainRecord | undefined> {
    return this.#read<ChainRecord>("chains", key, (v) => this.#checkChain(v));
  }

  #checkChain(v: unknown): ChainRecord | undefined {
    return Array.isArray((v as ChainRecord).chain) && (v as ChainRecord).chain.every(isDirName)
      ? (v as ChainRecord)
      : undefined;
  }

  #checkLayer(v: unknown): LayerRecord | undefined {
    const r = v as LayerRecord;
    if (r.empty === true) return r;
    return r.empty === false && typeof r.descriptor?.digest === "string" && typeof r.diffId === "string"
      ? r
      : undefined;
  }

  putChain(key: CacheKey, record: ChainRecord): Promise<void> {
    return this.#write("chains", key, record);
  }

  getLayer(key: CacheKey): Promise<LayerRecord | undefined> {
    return this.#read<LayerRecord>("layers", key, (v) => this.#checkLayer(v));
  }

  putLayer(key: CacheKey, record: LayerRecord): Promise<void> {
    return this.#write("layers", key, record);
  }

  listChains(): Promise<ListedRecord<ChainRecord>[]> {
    return this.#list("chains", (v) => this.#checkChain(v));
  }

  listLayers(): Promise<ListedRecord<LayerRecord>[]> {
    return this.#list("layers", (v) => this.#checkLayer(v));
  }

  /** Removes a record (garbage collection). */
  async delete(kind: "chains" | "layers", hex: string): Promise<void> {
    await unlink(join(this.root, "index", kind, `${hex}.json`)).catch(() => {});
  }

  async #list<T>(kind: string, check: (v: unknown) => T | undefined): Promise<ListedRecord<T>[]> {
    const dir = join(this.root, "index", kind);
    const out: ListedRecord<T>[] = [];
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{64}\.json$/.test(n)) continue;
      try {
        const path = join(dir, n);
        const usedMs = (await stat(path)).mtimeMs;
        const value: unknown = JSON.parse(await readFile(path, "utf8"));
        const record = typeof value === "object" && value !== null ? check(value) : undefined;
        if (record) out.push({ hex: n.slice(0, 64), record, usedMs });
      } catch {
        // Gone meanwhile, or damaged (a miss for builds too).
      }
    }
    return out;
  }

  /**
   * A record that is read is touched: its mtime is when it was last used, which is what garbage
   * collection keeps the newest of, and what pins it while a build that read it runs (store-gc.ts).
   */
  async #read<T>(kind: string, key: CacheKey, check: (v: unknown) => T | undefined): Promise<T | undefined> {
    try {
      const path = join(this.root, "index", kind, `${keyHex(key)}.json`);
      const value: unknown = JSON.parse(await readFile(path, "utf8"));
      const record = typeof value === "object" && value !== null ? check(value) : undefined;
      if (record) {
        const now = new Date();
        await utimes(path, now, now);
      }
      return record;
    } catch {
      return undefined;
    }
  }

  async #write(kind: string, key: CacheKey, value: unknown): Promise<void> {
    const dir = join(this.root, "index", kind);
    let made = this.#made.get(dir);
    if (!made) {
      made = mkdir(dir, { recursive: true });
      this.#made.set(dir, made);
    }
    await made;
    // The entry's content is synced before its rename (whole or absent), but not its directory entry: every
    // entry is checked when read (a chain's directories exist, a layer's blob is in the store, whose commit
    // synced it before this was written), so a power loss that forgets the newest entries costs a re-run of
    // those steps, never a wrong result, and a build saves two fsyncs per step.
    await writeFileAtomic(join(dir, `${keyHex(key)}.json`), JSON.stringify(value), { durableName: false });
  }
}
