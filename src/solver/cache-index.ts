/**
 * The persistent cache index: cache key -> result, one small JSON file per key under `<solver>/index/`.
 *
 * - `chains/KEY.json`: the vertex's result as a chain of the worker's snapshots (by name).
 * - `layers/KEY.json`: a layer vertex's exported layer (blob descriptor + diff_id, or empty), so that a
 *   cached build exports without re-reading a single file.
 *
 * Every write is atomic (temp file, fsync, rename), and only results that are complete on disk are ever
 * recorded, so a crash or Ctrl-C leaves either the old entry or the new one. Two processes writing the
 * same key both write complete, equivalent entries; the last rename wins. A file that cannot be read or
 * parsed is a miss, never an error.
 */
import { mkdir, readFile } from "node:fs/promises";
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
    return this.#read<ChainRecord>("chains", key, (v) =>
      Array.isArray((v as ChainRecord).chain) && (v as ChainRecord).chain.every(isDirName)
        ? (v as ChainRecord)
        : undefined,
    );
  }

  putChain(key: CacheKey, record: ChainRecord): Promise<void> {
    return this.#write("chains", key, record);
  }

  getLayer(key: CacheKey): Promise<LayerRecord | undefined> {
    return this.#read<LayerRecord>("layers", key, (v) => {
      const r = v as LayerRecord;
      if (r.empty === true) return r;
      return r.empty === false && typeof r.descriptor?.digest === "string" && typeof r.diffId === "string"
        ? r
        : undefined;
    });
  }

  putLayer(key: CacheKey, record: LayerRecord): Promise<void> {
    return this.#write("layers", key, record);
  }

  async #read<T>(kind: string, key: CacheKey, check: (v: unknown) => T | undefined): Promise<T | undefined> {
    try {
      const value: unknown = JSON.parse(
        await readFile(join(this.root, "index", kind, `${keyHex(key)}.json`), "utf8"),
      );
      return typeof value === "object" && value !== null ? check(value) : undefined;
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
    await writeFileAtomic(join(dir, `${keyHex(key)}.json`), JSON.stringify(value));
  }
}
