/**
 * The local worker's snapshots: named layer directories (overlay upper format) under `dirs/`, never
 * changed once there, and the snapshotter that mounts chains of them (made only when a build has work to
 * do: a fully cached build never creates one).
 *
 * Layout under the worker's root (`<state>/solver/`, where the solver kept them before the seam):
 *   dirs/NAME     snapshots. Content-addressed names (`diff-…` base layers, `local-…` contexts) are shared
 *                 by every build and platform; step results get unique names.
 *   snapshots/    the snapshotter's working area (mounts, uncommitted uppers, trash)
 *   empty/        the view of an empty chain
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { uniqueSuffix } from "../../fsutil/atomic-file.ts";
import { orphanedTemp } from "../../fsutil/orphans.ts";
import { pidOwnerGone } from "../../fsutil/process-identity.ts";
import { treeBytes } from "../../fsutil/tree-bytes.ts";
import type { SnapshotterMode } from "../snapshot/create.ts";
import type { ExecSnapshot, Snapshotter } from "../snapshot/snapshotter.ts";
import type { Chain, SnapshotUsage, SnapshotView } from "../worker.ts";

/**
 * Rename updates a directory's ctime. The kernel stamps files with a coarse clock (a tick behind the
 * precise one at most); this slack covers it.
 */
const ctimeSlackMs = 100;

export class SnapshotStore {
  readonly root: string;
  readonly #mode: SnapshotterMode;
  #snapshotter: Promise<Snapshotter> | undefined;
  #dirsMade: Promise<unknown> | undefined;
  #empty: Promise<string> | undefined;
  #seq = 0;

  constructor(root: string, mode: SnapshotterMode = "auto") {
    this.root = root;
    this.#mode = mode;
  }

  get dirsRoot(): string {
    return join(this.root, "dirs");
  }

  get used(): boolean {
    return this.#snapshotter !== undefined;
  }

  snapshotter(): Promise<Snapshotter> {
    this.#snapshotter ??= import("../snapshot/create.ts").then(async (m) => {
      const snapshotter = await m.createSnapshotter(join(this.root, "snapshots"), this.#mode);
      await reapAbandoned(snapshotter, join(this.root, "snapshots"));
      return snapshotter;
    });
    return this.#snapshotter;
  }

  /** A snapshot key no other process or call uses; it names the process (see reapAbandoned). */
  newKey(prefix: string): string {
    return `${prefix}-${process.pid.toString(36)}-${(++this.#seq).toString(36)}-${randomBytes(4).toString("hex")}`;
  }

  path(name: string): string {
    return join(this.root, "dirs", name);
  }

  async exists(name: string): Promise<boolean> {
    try {
      return (await stat(this.path(name))).isDirectory();
    } catch {
      return false;
    }
  }

  /**
   * Moves a committed layer directory to `dirs/NAME`. For a shared (content-addressed) name another
   * process may have put an equal directory there first: theirs is kept and ours discarded.
   */
  async adopt(committed: string, name: string, shared: boolean): Promise<string> {
    this.#dirsMade ??= mkdir(this.dirsRoot, { recursive: true });
    await this.#dirsMade;
    const target = this.path(name);
    if (shared && (await this.exists(name))) {
      await rm(committed, { recursive: true, force: true });
      return name;
    }
    try {
      await rename(committed, target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!shared || (code !== "ENOTEMPTY" && code !== "EEXIST")) throw e;
      await rm(committed, { recursive: true, force: true });
    }
    return name;
  }

  /**
   * Makes a new shared layer directory `dirs/NAME` from nothing: `fill` writes into a fresh snapshot, which is
   * committed and adopted under NAME; on failure the snapshot is dropped and nothing is recorded.
   */
  async fillNew(prefix: string, name: string, fill: (root: string) => Promise<void>): Promise<void> {
    await this.withNewTop(prefix, [], async (rootfs) => {
      await fill(rootfs);
      return name;
    });
  }

  /**
   * A writable snapshot over `base`, given to `work`; when it succeeds its changes are committed and
   * adopted (under the name `work` resolves for a shared snapshot, else under the snapshot's own key); on
   * failure or abort it is unmounted and deleted, so nothing half-done is ever kept. Resolves the name.
   */
  withNewTop(
    prefix: string,
    base: Chain,
    work: (rootfs: string) => Promise<string | undefined>,
  ): Promise<string> {
    return this.#withNewTop(
      prefix,
      base,
      async (s, key, lowers) => {
        const snap = await s.prepare(key, lowers);
        return { root: snap.rootfs, release: () => snap.release() };
      },
      work,
    );
  }

  /** As withNewTop, for a RUN step: the root is left for the runtime to mount where it can. */
  withNewExecTop(
    prefix: string,
    base: Chain,
    work: (root: ExecSnapshot["root"]) => Promise<void>,
  ): Promise<string> {
    return this.#withNewTop(
      prefix,
      base,
      (s, key, lowers) => s.prepareExec(key, lowers),
      async (root) => {
        await work(root);
        return undefined;
      },
    );
  }

  /**
   * Runs `work` in a fresh writable snapshot over `base` that is removed afterwards, whatever happens:
   * a container of `polyarch run` or `build --test`, whose changes are nobody's result.
   */
  async withThrowawayExecTop<R>(
    prefix: string,
    base: Chain,
    work: (root: ExecSnapshot["root"]) => Promise<R>,
  ): Promise<R> {
    const snapshotter = await this.snapshotter();
    const key = this.newKey(prefix);
    const snap = await snapshotter.prepareExec(
      key,
      base.map((n) => this.path(n)),
    );
    try {
      return await work(snap.root);
    } finally {
      await snap.release().catch(() => {});
      await snapshotter.remove(key);
    }
  }

  async #withNewTop<R>(
    prefix: string,
    base: Chain,
    prepare: (
      s: Snapshotter,
      key: string,
      lowers: string[],
    ) => Promise<{ root: R; release(): Promise<void> }>,
    work: (root: R) => Promise<string | undefined>,
  ): Promise<string> {
    const snapshotter = await this.snapshotter();
    const key = this.newKey(prefix);
    const snap = await prepare(
      snapshotter,
      key,
      base.map((n) => this.path(n)),
    );
    let committed = false;
    try {
      const shared = await work(snap.root);
      await snap.release();
      const dir = await snapshotter.commit(key);
      committed = true;
      return await this.adopt(dir, shared ?? key, shared !== undefined);
    } finally {
      if (!committed) {
        await snap.release().catch(() => {});
        await snapshotter.remove(key).catch(() => {});
      }
    }
  }

  /** An empty directory, for views of an empty chain. */
  #emptyDir(): Promise<string> {
    this.#empty ??= (async () => {
      const dir = join(this.root, "empty");
      await mkdir(dir, { recursive: true, mode: 0o755 });
      return dir;
    })();
    return this.#empty;
  }

  /**
   * The files of a chain as one tree. Read-only views of zero or one directory need no mount; anything
   * else is a snapshot (an overlay mount, or a copy) that `release` unmounts and deletes. A writable
   * view is always a fresh snapshot, so writes never reach a cached directory.
   */
  async view(chain: Chain, writable = false): Promise<SnapshotView> {
    if (!writable && chain.length === 0) return { root: await this.#emptyDir(), release: async () => {} };
    if (!writable && chain.length === 1) return { root: this.path(chain[0]!), release: async () => {} };
    const snapshotter = await this.snapshotter();
    const key = this.newKey("view");
    const snap = await snapshotter.prepare(
      key,
      chain.map((n) => this.path(n)),
    );
    let released = false;
    return {
      root: snap.rootfs,
      release: async () => {
        if (released) return;
        released = true;
        await snap.release();
        await snapshotter.remove(key);
      },
    };
  }

  /**
   * Snapshots and trash a killed build left: the snapshotter (made only for this, when there are any)
   * unmounts and removes them, so a build that finds everything cached still leaves a clean state dir.
   */
  async sweepAbandoned(): Promise<void> {
    const snapshots = join(this.root, "snapshots");
    const trash = join(snapshots, "trash");
    let deadTrash = false;
    for (const n of await readdir(trash).catch(() => [] as string[]))
      if (await orphanedTemp(join(trash, n), n, Number.POSITIVE_INFINITY)) deadTrash = true;
    // (Overlay probes a kill interrupted are removed before the build, with the other dead leftovers.)
    if (!deadTrash && (await abandonedKeys(snapshots)).size === 0) return;
    await this.snapshotter();
    await this.settle();
  }

  /**
   * Removes step results (`run-…`, `file-…`) not in `referenced`, made by processes that are gone, that
   * were there before `began`. Resolves how many it removed.
   */
  async removeDeadResults(referenced: ReadonlySet<string>, began: number): Promise<number> {
    let removed = 0;
    for (const n of await readdir(this.dirsRoot).catch(() => [] as string[])) {
      const pid = stepDirPid(n);
      if (pid === undefined || pid === process.pid || referenced.has(n)) continue;
      const path = this.path(n);
      let st: Awaited<ReturnType<typeof lstat>>;
      try {
        st = await lstat(path);
      } catch {
        continue;
      }
      // A dir renamed into dirs/ after the sweep began belongs to a build that started since: keep it.
      if (st.ctimeMs > began - ctimeSlackMs || !pidOwnerGone(pid, st.ctimeMs)) continue;
      await rm(path, { recursive: true, force: true }).then(
        () => removed++,
        () => {},
      );
    }
    return removed;
  }

  /** Every snapshot under dirs/ with its size on disk (see Worker.listSnapshots). */
  async list(known?: ReadonlyMap<string, number>): Promise<SnapshotUsage[]> {
    const out: SnapshotUsage[] = [];
    const seen = new Set<string>();
    for (const name of await readdir(this.dirsRoot).catch(() => [] as string[])) {
      let st: Awaited<ReturnType<typeof lstat>>;
      try {
        st = await lstat(this.path(name));
      } catch {
        continue;
      }
      if (!st.isDirectory()) continue;
      const size = known?.get(name) ?? (await treeBytes(this.path(name), { seen }));
      out.push({ name, size, madeMs: st.ctimeMs });
    }
    return out;
  }

  /**
   * Deletes snapshot NAME: renamed into `gc-trash/` (one atomic step, so no chain ever sees half of it),
   * then removed there. What a kill leaves in gc-trash/ names its process and is removed by the next
   * collection.
   */
  async remove(name: string): Promise<boolean> {
    const trash = join(this.root, "gc-trash");
    await mkdir(trash, { recursive: true });
    const aside = join(trash, `${name.slice(0, 80)}.${uniqueSuffix()}`);
    try {
      await rename(this.path(name), aside);
    } catch {
      return false;
    }
    await rm(aside, { recursive: true, force: true });
    return true;
  }

  /** Removes what killed collections left in gc-trash/. */
  async sweepTrash(): Promise<void> {
    const trash = join(this.root, "gc-trash");
    for (const n of await readdir(trash).catch(() => [] as string[])) {
      const path = join(trash, n);
      if (await orphanedTemp(path, n)) await rm(path, { recursive: true, force: true }).catch(() => {});
    }
  }

  /** Waits for background deletions of this process's snapshots. */
  async settle(): Promise<void> {
    if (this.#snapshotter) await (await this.#snapshotter).settle();
  }
}

/**
 * Snapshots left open (`active/KEY`) or committed and not adopted (`layers/KEY`) by a process that died
 * without cleaning up (kill -9, a crash): their keys name the process (`run-PID36-…`), so the next build
 * that uses the snapshotter unmounts and removes the ones whose process is gone. Ctrl-C needs none of
 * this: the build cleans up before it exits.
 */
async function reapAbandoned(snapshotter: Snapshotter, snapshotsDir: string): Promise<void> {
  for (const key of await abandonedKeys(snapshotsDir)) await snapshotter.remove(key).catch(() => {});
}

async function abandonedKeys(snapshotsDir: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const sub of ["active", "layers"]) {
    let names: string[];
    try {
      names = await readdir(join(snapshotsDir, sub));
    } catch {
      continue;
    }
    for (const key of names) {
      const m = /^[a-z]+-([0-9a-z]+)-/.exec(key);
      const pid = m ? Number.parseInt(m[1]!, 36) : Number.NaN;
      if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) continue;
      // The directory's mtime is never earlier than its making: a pid now used by a later process is gone.
      const madeAt = await lstat(join(snapshotsDir, sub, key)).then(
        (st) => st.mtimeMs,
        () => undefined,
      );
      if (madeAt !== undefined && pidOwnerGone(pid, madeAt)) keys.add(key);
    }
  }
  return keys;
}

/** The pid in a step result's name (newKey: `PREFIX-PID36-SEQ36-HEX`). */
function stepDirPid(name: string): number | undefined {
  const m = /^(?:run|file)-([0-9a-z]+)-[0-9a-z]+-[0-9a-f]{8}$/.exec(name);
  const pid = m ? Number.parseInt(m[1]!, 36) : Number.NaN;
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}
