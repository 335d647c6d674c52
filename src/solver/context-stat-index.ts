/**
 * What each context file's content digest was when it last had this exact stat: size, mtime, ctime,
 * inode, device and mode. A rebuild over an unchanged context then reads no file, only the listing's
 * lstat (BuildKit keeps the same kind of record, its content hash cache).
 *
 * Stored per context directory under `<state>/solver/context-index/`, replaced atomically, read with
 * suspicion: a record that does not have the expected shape is dropped (the file is hashed again), so a
 * torn, old or hand-edited index costs a re-read, never a wrong key. The state dir is root's alone; the
 * context (which may be hostile) only supplies paths, which are looked up as map keys.
 *
 * A write to a file always moves its ctime to the kernel's current time, and no caller can set ctime.
 * A digest is recorded only when the file's ctime is well before the read began, so a file changed
 * during or just after the read (within one tick of a coarse file system clock) is never recorded with
 * a stat it may keep after changing: the "racy clean" case git guards against in the same way.
 */
import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { mkdir, readFile, realpath } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../fsutil/atomic-file.ts";

/** What a context file's stat must match for its recorded digest to stand. */
export interface StatKey {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  dev: number;
  mode: number;
}

type Entry = [
  size: number,
  mtimeMs: number,
  ctimeMs: number,
  ino: number,
  dev: number,
  mode: number,
  hex: string,
];

const formatVersion = 1;
/** A file changed less than this before its read began is not recorded (ctime ticks can be coarse). */
const defaultSettleMs = 2000;
/** An index bigger than this is not trusted to be ours (a context of a million files is ~100 MB). */
const maxIndexBytes = 256 * 1024 * 1024;
/** Records of files this build did not see are kept up to this many (other selections, other builds). */
const maxUnseen = 200_000;

function sameStat(e: Entry, s: StatKey): boolean {
  return (
    e[0] === s.size &&
    e[1] === s.mtimeMs &&
    e[2] === s.ctimeMs &&
    e[3] === s.ino &&
    e[4] === s.dev &&
    e[5] === s.mode
  );
}

function isEntry(v: unknown): v is [string, ...Entry] {
  if (!Array.isArray(v) || v.length !== 8 || typeof v[0] !== "string") return false;
  for (let i = 1; i < 7; i++) if (typeof v[i] !== "number" || !Number.isFinite(v[i])) return false;
  return typeof v[7] === "string" && /^[0-9a-f]{64}$/.test(v[7]);
}

export class ContextStatIndex {
  readonly #file: string;
  readonly #root: string;
  readonly #old: Map<string, Entry>;
  readonly #settleMs: number;
  readonly #seen = new Map<string, Entry>();
  #changed = false;

  private constructor(file: string, root: string, old: Map<string, Entry>, settleMs: number) {
    this.#settleMs = settleMs;
    this.#file = file;
    this.#root = root;
    this.#old = old;
  }

  /** The index of the context directory `root` kept in `dir` (empty when there is none or it is unusable). */
  static async open(dir: string, root: string, settleMs = defaultSettleMs): Promise<ContextStatIndex> {
    const real = await realpath(root).catch(() => root);
    const file = join(dir, `${createHash("sha256").update(real).digest("hex")}.json`);
    const old = new Map<string, Entry>();
    try {
      const text = await readFile(file, "utf8");
      if (text.length <= maxIndexBytes) {
        const doc = JSON.parse(text) as { v?: unknown; root?: unknown; files?: unknown };
        if (doc.v === formatVersion && doc.root === real && Array.isArray(doc.files)) {
          for (const f of doc.files) if (isEntry(f)) old.set(f[0], f.slice(1) as Entry);
        }
      }
    } catch {
      // No index yet, or one that does not parse: every file is read, and a good index is written.
    }
    return new ContextStatIndex(file, real, old, settleMs);
  }

  /** The digest recorded for `path` when it had exactly this stat. */
  lookup(path: string, stat: StatKey): string | undefined {
    const e = this.#seen.get(path) ?? this.#old.get(path);
    if (!e || !sameStat(e, stat)) return undefined;
    this.#seen.set(path, e);
    return e[6];
  }

  /** Records the digest of what was read from `path`, whose stat after the read was `after`. */
  record(path: string, after: Stats, hex: string, readStartedMs: number): void {
    if (!after.isFile() || after.ctimeMs > readStartedMs - this.#settleMs) return;
    const e: Entry = [after.size, after.mtimeMs, after.ctimeMs, after.ino, after.dev, after.mode, hex];
    const prev = this.#old.get(path);
    if (!prev || !sameStat(prev, after) || prev[6] !== hex) this.#changed = true;
    this.#seen.set(path, e);
  }

  /** Writes the index if this build learnt something; a failure to write only costs the next build a read. */
  async save(): Promise<void> {
    if (!this.#changed) return;
    const files: [string, ...Entry][] = [];
    for (const [p, e] of this.#seen) files.push([p, ...e]);
    let unseen = 0;
    for (const [p, e] of this.#old) {
      if (this.#seen.has(p) || ++unseen > maxUnseen) continue;
      files.push([p, ...e]);
    }
    const dir = join(this.#file, "..");
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.#file, JSON.stringify({ v: formatVersion, root: this.#root, files }));
      this.#changed = false;
    } catch {
      // Read-only or full state dir: the build is still right, the next one reads the files again.
    }
  }
}
