/**
 * One process at a time works on a cache key: a lock file `KEY.lock` names its owner (pid, start time and
 * boot id: see fsutil/process-identity.ts). Another process that wants the same key waits for the file
 * to go, then looks in the cache index again (where it usually finds the result).
 *
 * A lock is written whole to a temp file and linked into place (link fails when the name exists), so a
 * lock file is never seen half-written; a kill before the link leaves only a temp file that the next
 * build sweeps. A lock whose owner is gone is taken over whatever it holds: a dead or reused pid, another
 * boot, or no readable owner at all (a power loss can leave an empty file). Every wait is bounded and,
 * once it lasts, says who it waits for.
 *
 * This only saves duplicate work; correctness never depends on it (results are committed under unique
 * names and recorded atomically). In the rare race where two processes take over the same stale lock,
 * both may do the work and the last record wins.
 */
import { link, lstat, mkdir, open, readdir, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { UserError } from "../errors/user-error.ts";
import { uniqueSuffix } from "../fsutil/atomic-file.ts";
import { orphanedTemp } from "../fsutil/orphans.ts";
import { identityAlive, identityPid, pidOwnerGone, selfIdentity } from "../fsutil/process-identity.ts";

/** Who holds a lock another call waits for. */
export interface LockHolder {
  /** The owner's pid, when the lock names one. */
  pid: number | undefined;
  /** The lock file. */
  path: string;
}

export interface AcquireOptions {
  signal?: AbortSignal;
  /** What the lock guards, for the timeout error (e.g. the step's name). */
  label?: string;
  /** Called when a wait has lasted a moment (not for short waits), and again when the holder changes. */
  onWait?: (holder: LockHolder) => void;
}

export interface Lock {
  release(): Promise<void>;
  /** True when another process held it, so the caller should look for its result first. */
  waited: boolean;
}

export interface VertexLockOptions {
  /** How long one acquire waits for a live holder before it fails. */
  timeoutMs?: number;
  /** How long a wait lasts before onWait hears of it. */
  noticeMs?: number;
}

/** A live holder may run a long step; this bounds a wait on one that hangs. */
export const defaultLockTimeoutMs = 30 * 60 * 1000;

/**
 * An unreadable lock file is garbage once this old: a lock is linked into place complete, so only a crash
 * of the machine (unflushed data) or an older polyarch (which wrote the pid after creating the file) can
 * leave one empty, and the latter fills it within moments.
 */
const unreadableGraceMs = 2_000;

export class VertexLocks {
  readonly #dir: string;
  readonly #timeoutMs: number;
  readonly #noticeMs: number;
  #made: Promise<unknown> | undefined;

  constructor(dir: string, options: VertexLockOptions = {}) {
    this.#dir = dir;
    this.#timeoutMs = options.timeoutMs ?? defaultLockTimeoutMs;
    this.#noticeMs = options.noticeMs ?? 1_000;
  }

  /**
   * Takes the lock of `name` when nobody alive holds it (this process included); undefined otherwise. A
   * lock whose owner is gone is taken over, as by acquire.
   */
  async tryAcquire(name: string): Promise<{ release: () => Promise<void> } | undefined> {
    this.#made ??= mkdir(this.#dir, { recursive: true });
    await this.#made;
    const path = join(this.#dir, `${name}.lock`);
    for (let attempt = 0; attempt < 3; attempt++) {
      const ino = await createComplete(path);
      if (ino !== undefined) return { release: () => releaseIfOurs(path, ino) };
      const held = await readHolder(path);
      if (held === undefined) continue; // released meanwhile
      if (!held.gone) return undefined;
      await removeStale(path, held.ino);
    }
    return undefined;
  }

  /** Takes the lock of `name` (waiting while a live process holds it); resolves to its release. */
  async acquire(name: string, signalOrOptions?: AbortSignal | AcquireOptions): Promise<Lock> {
    const options: AcquireOptions =
      signalOrOptions instanceof AbortSignal ? { signal: signalOrOptions } : (signalOrOptions ?? {});
    const { signal } = options;
    this.#made ??= mkdir(this.#dir, { recursive: true });
    await this.#made;
    const path = join(this.#dir, `${name}.lock`);
    const started = Date.now();
    let waited = false;
    let told: string | undefined;
    for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
      signal?.throwIfAborted();
      const ino = await createComplete(path);
      if (ino !== undefined) return { waited, release: () => releaseIfOurs(path, ino) };
      const held = await readHolder(path);
      if (held === undefined) continue; // released meanwhile: try again at once
      if (held.gone) {
        await removeStale(path, held.ino);
        continue;
      }
      waited = true;
      const waitedMs = Date.now() - started;
      const holder: LockHolder = { pid: held.pid, path };
      if (waitedMs >= this.#timeoutMs) throw lockTimeout(holder, waitedMs, options.label);
      if (waitedMs >= this.#noticeMs && told !== held.owner) {
        told = held.owner;
        options.onWait?.(holder);
      }
      await sleep(
        Math.min(delay, Math.max(1, this.#timeoutMs - waitedMs)),
        undefined,
        signal ? { signal } : {},
      );
    }
  }

  /** Removes locks whose owner is gone and temp files of dead processes (a killed build leaves both). */
  async sweep(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const n of names) {
      const path = join(this.#dir, n);
      if (n.endsWith(".lock")) {
        const held = await readHolder(path);
        if (held?.gone && (await removeStale(path, held.ino))) removed++;
      } else if (await orphanedTemp(path, n)) {
        await unlink(path).then(
          () => removed++,
          () => {},
        );
      }
    }
    return removed;
  }
}

/** Writes this process's lock to a temp file and links it to `path`: resolves its inode, or undefined. */
async function createComplete(path: string): Promise<number | undefined> {
  const tmp = `${path}.tmp-${uniqueSuffix()}`;
  await writeFile(tmp, `${selfIdentity()}\n`, { flag: "wx", mode: 0o644 });
  try {
    await link(tmp, path);
    return (await lstat(tmp)).ino;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return undefined;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

interface Held {
  ino: number;
  /** The owner as written, for telling holders apart. */
  owner: string;
  pid: number | undefined;
  gone: boolean;
}

/** The lock at `path` and whether its owner is gone; undefined when there is no lock. */
async function readHolder(path: string): Promise<Held | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch {
    return undefined;
  }
  try {
    const st = await handle.stat();
    const owner = (await handle.readFile("utf8")).trim();
    // PID:START:BOOT, or a bare PID (written by older versions).
    if (!/^\d+(:\d*(:[0-9a-f]*)?)?$/.test(owner))
      return { ino: st.ino, owner, pid: undefined, gone: Date.now() - st.mtimeMs > unreadableGraceMs };
    const pid = identityPid(owner);
    const gone = owner.includes(":")
      ? !identityAlive(owner)
      : pid === undefined || pidOwnerGone(pid, st.mtimeMs);
    return { ino: st.ino, owner, pid, gone };
  } finally {
    await handle.close();
  }
}

/**
 * Removes the stale lock `ino` at `path`. It is moved aside first and checked: if another process took
 * the stale lock over in between, the file moved is that process's live lock, and it is put back.
 */
async function removeStale(path: string, ino: number): Promise<boolean> {
  const aside = `${path}.stale.tmp-${uniqueSuffix()}`;
  try {
    await rename(path, aside);
  } catch {
    return false; // gone already
  }
  try {
    if ((await lstat(aside)).ino === ino) return true;
    await link(aside, path).catch(() => {});
    return false;
  } finally {
    await unlink(aside).catch(() => {});
  }
}

async function releaseIfOurs(path: string, ino: number): Promise<void> {
  try {
    if ((await lstat(path)).ino === ino) await unlink(path);
  } catch {
    // Already gone.
  }
}

function lockTimeout(holder: LockHolder, waitedMs: number, label: string | undefined): UserError {
  const who = holder.pid === undefined ? "another polyarch process" : `polyarch process ${holder.pid}`;
  return new UserError(
    `waited ${Math.round(waitedMs / 1000)}s for ${who}, which is working on ${label ?? "the same step"} ` +
      `(lock ${holder.path}), and gave up`,
    {
      hint:
        `if that build is stuck, stop it${holder.pid === undefined ? "" : ` (kill ${holder.pid})`}: a lock whose ` +
        "process is gone is taken over at once; to wait longer set POLYARCH_LOCK_TIMEOUT (seconds)",
    },
  );
}

/** POLYARCH_LOCK_TIMEOUT (seconds), when set to a positive number. */
export function lockTimeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const s = Number(env.POLYARCH_LOCK_TIMEOUT);
  return Number.isFinite(s) && s > 0 ? s * 1000 : undefined;
}
