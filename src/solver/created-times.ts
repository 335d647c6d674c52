/**
 * When each step's cache key was first built: `index/created.log`, one line `KEYHEX ISO8601` per step run.
 *
 * A step's history entry takes the time its result was made, and a cached rebuild takes it again from the
 * record. Garbage collection deletes records (and the snapshots and blobs they name); without this log a
 * step rebuilt after a prune would get a new time, and the image a new digest, though nothing it depends
 * on changed. The log names no data, so it never points at anything deleted; it is a few bytes per step,
 * appended (O_APPEND: concurrent builds' lines do not interleave) and compacted by garbage collection.
 */
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../content/fs-util.ts";
import { type CacheKey, keyHex } from "./cache-key.ts";

const linePattern = /^([0-9a-f]{64}) (\d{4}-\d\d-\d\dT[0-9:.]+Z)$/;

export class CreatedTimes {
  readonly #path: string;
  #times: Promise<Map<string, string>> | undefined;

  /** `root` is the solver's directory in the state dir. */
  constructor(root: string) {
    this.#path = join(root, "index", "created.log");
  }

  /**
   * The created time of a step with this key that runs now: the time it was first made when the log has
   * one and `reuse` (the step is not run again on purpose: --no-cache gives a new time), else now.
   */
  async forStep(key: CacheKey, reuse: boolean): Promise<string> {
    const hex = keyHex(key);
    const known = reuse ? (await this.#load()).get(hex) : undefined;
    if (known) return known;
    const now = new Date().toISOString();
    (await this.#load()).set(hex, now);
    await mkdir(join(this.#path, ".."), { recursive: true });
    await appendFile(this.#path, `${hex} ${now}\n`);
    return now;
  }

  #load(): Promise<Map<string, string>> {
    this.#times ??= readTimes(this.#path);
    return this.#times;
  }

  /**
   * Rewrites the log with the entries of `keep` (keys that still have records) and the newest `extra`
   * others, so it stays small. Runs under the collection lock; a line another build appends meanwhile
   * may be lost, which costs only a new time for that step should it ever be rebuilt.
   */
  async compact(keep: ReadonlySet<string>, extra: number): Promise<void> {
    const times = await readTimes(this.#path);
    if (times.size === 0) return;
    const entries = [...times.entries()];
    const others = entries.filter(([k]) => !keep.has(k)).slice(-extra);
    const kept = entries.filter(([k]) => keep.has(k));
    const lines = [...kept, ...others].map(([k, t]) => `${k} ${t}\n`).join("");
    await writeFileAtomic(this.#path, lines);
  }
}

/** The log as a map (the last line of a key wins); unreadable lines are skipped. */
async function readTimes(path: string): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return map;
  }
  for (const line of text.split("\n")) {
    const m = linePattern.exec(line);
    if (m && !Number.isNaN(Date.parse(m[2]!))) {
      map.delete(m[1]!);
      map.set(m[1]!, m[2]!);
    }
  }
  return map;
}
