/**
 * What the state dir holds (`polyarch du`) and removing part of it (`polyarch prune`, the automatic
 * collection after a build), safely beside running builds and across a kill.
 *
 * Entries: step results and base layers (the worker's snapshots, named by the chain records of the cache
 * index), exported layers (layer records and their blobs), cache mounts. Stored images are never removed
 * here (`polyarch rmi`); their blobs count in the total.
 *
 * Beside running builds (two processes share a state dir; no daemon holds leases):
 *  - a collection holds the collection lock (`locks/state-gc.lock`); a build starts reading the cache index
 *    only when that lock is free, and marks itself as probing meanwhile (workspace.ts);
 *  - the collection waits until no live build is probing, so every record such a build will use has been
 *    touched (a record's mtime is its last use: cache-index.ts); records used since the oldest live build
 *    announced itself are in use, and so is everything they name;
 *  - while another build is alive, shared snapshots (base layers, contexts) that no record names any more
 *    stay (a build may be about to adopt one), as do cache mounts and the results of live processes.
 *
 * Across a kill: records go first, then what they named (snapshots are renamed aside in one step, then
 * deleted; blobs go through the content store's mark and sweep). A kill at any point leaves records that
 * name only what exists, and garbage that the next collection removes.
 */
import { lstat, mkdir, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { writeFileAtomic } from "../content/fs-util.ts";
import type { ContentStore } from "../content/types.ts";
import { UserError } from "../errors/user-error.ts";
import { uniqueSuffix } from "../fsutil/atomic-file.ts";
import { orphanedTemp } from "../fsutil/orphans.ts";
import { pidOwnerGone } from "../fsutil/process-identity.ts";
import { treeBytes } from "../fsutil/tree-bytes.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import type { Digest } from "../oci/digest.ts";
import { parseAnyManifest } from "../oci/manifest.ts";
import type { Worker } from "../worker/worker.ts";
import { CacheIndex } from "./cache-index.ts";
import { CreatedTimes } from "./created-times.ts";
import { type PruneRequest, selectForPrune, type UsageEntry } from "./gc-policy.ts";
import { liveBuilds } from "./leftovers.ts";
import { VertexLocks } from "./vertex-lock.ts";
import { collectionLockName } from "./workspace.ts";

/** Slack for coarse file times: a record touched just after the cut is still counted as in use. */
const clockSlackMs = 2_000;
/** How long a collection waits for live builds to finish reading the cache index. */
const probeWaitMs = 120_000;
/** Lines of the created-times log kept for keys that have no record any more. */
const createdTimesKept = 10_000;
const layerRefPrefix = "polyarch.io/cache/layer/";
const imageRefPrefix = "polyarch.io/images/";
const pulledRefPrefixes = ["polyarch.io/resolved/", "polyarch.io/pinned/"];

export interface StoreUsage {
  entries: UsageEntry[];
  /** Every blob in the content store. */
  blobs: { count: number; size: number };
  /** Stored images (`polyarch images`) and the bytes their blobs hold. */
  images: { count: number; size: number };
  /** Bytes the state dir holds on disk, all of it (what --keep-storage compares with). */
  totalBytes: number;
}

export interface PruneReport {
  removed: UsageEntry[];
  /** Bytes freed, measured: the total before less the total after. */
  freedBytes: number;
  totalBytes: number;
}

interface Scan {
  usage: StoreUsage;
  chains: Awaited<ReturnType<CacheIndex["listChains"]>>;
  alive: boolean;
}

export class StoreCollector {
  readonly #stateRoot: string;
  readonly #root: string;
  readonly #store: ContentStore;
  readonly #worker: Worker;
  readonly #index: CacheIndex;

  constructor(stateRoot: string, store: ContentStore, worker: Worker) {
    this.#stateRoot = stateRoot;
    this.#root = join(stateRoot, "solver");
    this.#store = store;
    this.#worker = worker;
    this.#index = new CacheIndex(this.#root);
  }

  /** What the state dir holds, for `polyarch du` (reads only; takes no lock). */
  async usage(): Promise<StoreUsage> {
    const live = await liveBuilds(this.#root);
    return (await this.#scan(cutoffOf(live, Date.now()), live.length > 0)).usage;
  }

  /**
   * Removes what `requests` choose, one after another (the automatic policy is a list of rules), under the
   * collection lock. `wait: false` gives up (resolves undefined) when another collection runs or a build
   * is still probing after a while, as the automatic collection should; a prune waits.
   */
  async prune(
    requests: readonly PruneRequest[],
    options: { wait: boolean; gracePeriodMs?: number; removeBaseImages?: boolean },
  ): Promise<PruneReport | undefined> {
    const locks = new VertexLocks(join(this.#root, "locks"));
    const lock = options.wait
      ? await locks.acquire(collectionLockName, { label: "a garbage collection" })
      : await locks.tryAcquire(collectionLockName);
    if (!lock) return undefined;
    try {
      const started = Date.now();
      let live = await liveBuilds(this.#root);
      while (live.some((b) => b.probing)) {
        if (Date.now() - started > (options.wait ? probeWaitMs : 2_000)) {
          if (!options.wait) return undefined;
          const pid = live.find((b) => b.probing)?.pid;
          throw new UserError(
            `a build${pid === undefined ? "" : ` (process ${pid})`} has been reading the build cache for ${Math.round(probeWaitMs / 1000)}s; nothing was pruned`,
            { hint: "run the prune again when that build is past its first steps" },
          );
        }
        await sleep(50);
        live = await liveBuilds(this.#root);
      }
      const alive = live.length > 0;
      const cutoff = cutoffOf(live, started);
      await this.#sweepTrash();
      const first = await this.#scan(cutoff, alive);
      const removed: UsageEntry[] = [];
      let scan = first;
      // An entry's size is an estimate of what its removal frees (records, shared blocks and blobs still
      // in their grace period are not in it): when a limit is still exceeded, measure and choose again.
      for (let pass = 0; pass < 4; pass++) {
        const chosenNow: UsageEntry[] = [];
        let remaining = scan.usage.entries;
        let total = scan.usage.totalBytes;
        for (const request of requests) {
          const chosen = selectForPrune(remaining, request, Date.now(), total);
          const gone = new Set(chosen.map((e) => e.id));
          chosenNow.push(...chosen);
          remaining = remaining.filter((e) => !gone.has(e.id));
          total -= chosen.reduce((n, e) => n + e.size, 0);
        }
        // Under every limit: nothing to do (garbage outside the entries waits for a collection that has).
        if (chosenNow.length === 0 && requests.every((r) => r.keepStorageBytes !== undefined)) break;
        await this.#remove(chosenNow, scan, alive);
        removed.push(...chosenNow);
        if (pass === 0 && options.removeBaseImages && !alive) {
          for (const ref of await this.#store.listRefs()) {
            if (pulledRefPrefixes.some((p) => ref.name.startsWith(p))) await this.#store.deleteRef(ref.name);
          }
        }
        // Blobs a build wrote but has not referenced yet are younger than the live builds.
        const grace = Math.max(options.gracePeriodMs ?? 0, alive ? Date.now() - cutoff : 0);
        await this.#store.gc({ gracePeriodMs: grace });
        scan = await this.#scan(cutoff, alive);
        const over = requests.some(
          (r) => r.keepStorageBytes !== undefined && scan.usage.totalBytes > r.keepStorageBytes,
        );
        if (chosenNow.length === 0 || !over) break;
      }
      const before = first;
      const after = scan;
      await new CreatedTimes(this.#root).compact(new Set(after.chains.map((c) => c.hex)), createdTimesKept);
      return {
        removed,
        freedBytes: Math.max(0, before.usage.totalBytes - after.usage.totalBytes),
        totalBytes: after.usage.totalBytes,
      };
    } finally {
      await lock.release();
    }
  }

  async #remove(chosen: readonly UsageEntry[], scan: Scan, alive: boolean): Promise<void> {
    const snapshots = new Set(chosen.filter((e) => e.kind === "snapshot").map((e) => e.id));
    // 1. Records first: a layer record and the store ref that keeps its blob; every chain record that
    //    names a chosen snapshot.
    for (const e of chosen) {
      if (e.kind !== "layer") continue;
      const hex = e.id.slice("layer:".length);
      await this.#index.delete("layers", hex);
      await this.#store.deleteRef(`${layerRefPrefix}${hex}`);
    }
    for (const c of scan.chains) {
      if (c.record.chain.some((n) => snapshots.has(n))) await this.#index.delete("chains", c.hex);
    }
    // 2. Then the snapshots no remaining record names (the chosen ones, and those only the removed
    //    records named), unless a live build may use them.
    const named = new Set<string>();
    for (const c of await this.#index.listChains()) for (const n of c.record.chain) named.add(n);
    const sizes = await this.#sizes();
    for (const s of await this.#worker.listSnapshots(sizes)) {
      if (named.has(s.name)) continue;
      if (!unreferencedRemovable(s.name, s.madeMs, alive)) continue;
      if (await this.#worker.removeSnapshot(s.name)) await this.#removeSidecars(s.name);
    }
    // 3. Context stat indexes: a speed-up only (a missing one costs a re-read of that context), so no
    //    record depends on them and a live build loses nothing but time.
    for (const e of chosen) {
      if (e.kind !== "context-index") continue;
      await unlink(join(this.#root, "context-index", e.id.slice("context-index:".length))).catch(() => {});
    }
    // 4. Cache mounts.
    for (const e of chosen) {
      if (e.kind !== "cache-mount" || alive) continue;
      const dir = join(this.#root, "cache-mounts", e.id.slice("mount:".length));
      const aside = join(this.#root, "gc-trash", `mount.${uniqueSuffix()}`);
      await mkdir(join(this.#root, "gc-trash"), { recursive: true });
      if (
        await rename(dir, aside).then(
          () => true,
          () => false,
        )
      )
        await rm(aside, { recursive: true, force: true });
    }
  }

  /** What unpacking left beside a base layer snapshot (run-image.ts), removed after the snapshot. */
  async #removeSidecars(name: string): Promise<void> {
    const file = `${name.replace(/^diff-/, "")}.json`;
    for (const kind of ["lower-links", "lower-paths", "lower-symlinks"]) {
      await unlink(join(this.#root, kind, file)).catch(() => {});
    }
  }

  async #sweepTrash(): Promise<void> {
    const { readdir } = await import("node:fs/promises");
    for (const dir of [join(this.#root, "gc-trash")]) {
      for (const n of await readdir(dir).catch(() => [] as string[])) {
        const path = join(dir, n);
        if (await orphanedTemp(path, n)) await rm(path, { recursive: true, force: true }).catch(() => {});
      }
    }
  }

  /** Sizes measured before (snapshots never change): `solver/gc/sizes.json`. */
  async #sizes(): Promise<Map<string, number>> {
    try {
      const v = JSON.parse(await readFile(join(this.#root, "gc", "sizes.json"), "utf8")) as Record<
        string,
        unknown
      >;
      return new Map(Object.entries(v).filter((kv): kv is [string, number] => typeof kv[1] === "number"));
    } catch {
      return new Map();
    }
  }

  async #scan(cutoff: number, alive: boolean): Promise<Scan> {
    const [chains, layers, snapshots] = await Promise.all([
      this.#index.listChains(),
      this.#index.listLayers(),
      this.#worker.listSnapshots(await this.#sizes()),
    ]);
    await mkdir(join(this.#root, "gc"), { recursive: true });
    await writeFileAtomic(
      join(this.#root, "gc", "sizes.json"),
      JSON.stringify(Object.fromEntries(snapshots.map((s) => [s.name, s.size]))),
    ).catch(() => {});

    const namedBy = new Map<string, { usedMs: number; count: number; description?: string }>();
    for (const c of chains) {
      c.record.chain.forEach((n, i) => {
        const seen = namedBy.get(n) ?? { usedMs: 0, count: 0 };
        seen.usedMs = Math.max(seen.usedMs, c.usedMs);
        seen.count++;
        const top = i === c.record.chain.length - 1;
        if (top && c.record.description && !seen.description) seen.description = c.record.description;
        namedBy.set(n, seen);
      });
    }
    const entries: UsageEntry[] = [];
    for (const s of snapshots) {
      const by = namedBy.get(s.name);
      const lastUsedMs = by?.usedMs ?? s.madeMs;
      entries.push({
        id: s.name,
        kind: "snapshot",
        type: snapshotType(s.name),
        description: by?.description ?? snapshotDescription(s.name),
        size: s.size,
        createdMs: s.madeMs,
        lastUsedMs,
        usageCount: by?.count ?? 0,
        shared: (by?.count ?? 0) > 1,
        inUse: by
          ? alive && (lastUsedMs >= cutoff || !isStepResult(s.name))
          : !unreferencedRemovable(s.name, s.madeMs, alive),
        forImage: false,
      });
    }

    const refs = await this.#store.listRefs();
    const imageBlobs = await this.#reachable(
      refs.filter((r) => r.name.startsWith(imageRefPrefix)).map((r) => r.descriptor),
    );
    const blobUsers = new Map<string, number>();
    for (const l of layers)
      if (!l.record.empty)
        blobUsers.set(l.record.descriptor.digest, (blobUsers.get(l.record.descriptor.digest) ?? 0) + 1);
    for (const l of layers) {
      if (l.record.empty) continue;
      const digest = l.record.descriptor.digest;
      const info = await this.#store.info(digest);
      const forImage = imageBlobs.has(digest);
      entries.push({
        id: `layer:${l.hex}`,
        kind: "layer",
        type: "layer",
        description: `layer ${digest.slice(0, 19)}`,
        size: info?.size ?? 0,
        createdMs: l.record.created ? Date.parse(l.record.created) : l.usedMs,
        lastUsedMs: l.usedMs,
        usageCount: blobUsers.get(digest) ?? 1,
        shared: forImage || (blobUsers.get(digest) ?? 0) > 1,
        inUse: alive && l.usedMs >= cutoff,
        forImage,
      });
    }

    const mountsDir = join(this.#root, "cache-mounts");
    const { readdir } = await import("node:fs/promises");
    for (const n of await readdir(mountsDir).catch(() => [] as string[])) {
      if (n.includes(".new-")) continue;
      try {
        const st = await stat(join(mountsDir, n));
        if (!st.isDirectory()) continue;
        entries.push({
          id: `mount:${n}`,
          kind: "cache-mount",
          type: "exec.cachemount",
          description: `cache mount ${n.slice(0, 12)}`,
          size: await treeBytes(join(mountsDir, n)),
          createdMs: st.ctimeMs,
          lastUsedMs: st.mtimeMs,
          usageCount: 1,
          shared: false,
          inUse: alive,
          forImage: false,
        });
      } catch {
        // Gone meanwhile.
      }
    }

    const contextIndexDir = join(this.#root, "context-index");
    for (const n of await readdir(contextIndexDir).catch(() => [] as string[])) {
      if (n.includes(".tmp-")) continue;
      try {
        const st = await lstat(join(contextIndexDir, n));
        if (!st.isFile()) continue;
        entries.push({
          id: `context-index:${n}`,
          kind: "context-index",
          type: "source.local",
          description: `context stat index ${n.slice(0, 12)}`,
          size: st.size,
          createdMs: st.ctimeMs,
          lastUsedMs: st.mtimeMs,
          usageCount: 1,
          shared: false,
          inUse: alive && st.mtimeMs >= cutoff,
          forImage: false,
        });
      } catch {
        // Gone meanwhile.
      }
    }

    let blobCount = 0;
    let blobBytes = 0;
    for await (const b of this.#store.list()) {
      blobCount++;
      blobBytes += b.size;
    }
    let imageBytes = 0;
    for (const d of imageBlobs) imageBytes += (await this.#store.info(d as Digest))?.size ?? 0;
    const snapshotBytes = snapshots.reduce((n, s) => n + s.size, 0);
    // Everything else as it lies on disk (blobs, records, mounts, metadata): what a user's `du` sees.
    const otherBytes = await treeBytes(this.#stateRoot, { skip: new Set([join(this.#root, "dirs")]) });
    return {
      chains,
      alive,
      usage: {
        entries,
        blobs: { count: blobCount, size: blobBytes },
        images: { count: refs.filter((r) => r.name.startsWith(imageRefPrefix)).length, size: imageBytes },
        totalBytes: snapshotBytes + otherBytes,
      },
    };
  }

  /** Every blob reachable from `roots` through manifests and indexes. */
  async #reachable(roots: readonly Descriptor[]): Promise<Set<string>> {
    const seen = new Set<string>();
    const queue = [...roots];
    while (queue.length > 0) {
      const d = queue.pop()!;
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      if (!/manifest|index/.test(d.mediaType)) continue;
      try {
        const doc = parseAnyManifest(await this.#store.readBytes(d.digest), d.mediaType, d.digest);
        if (doc.kind === "index") queue.push(...doc.index.manifests);
        else queue.push(doc.manifest.config, ...doc.manifest.layers);
      } catch {
        // Missing or not a manifest: nothing more to follow.
      }
    }
    return seen;
  }

  /** The state dir's own path (for messages). */
  get stateRoot(): string {
    return this.#stateRoot;
  }
}

/** Records used at or after this are in use by a live build (its announcement, less the clock's slack). */
function cutoffOf(live: readonly { announcedMs: number }[], nowMs: number): number {
  return Math.min(nowMs, ...live.map((b) => b.announcedMs)) - clockSlackMs;
}

/**
 * Whether a snapshot no record names may go: a step result of a live process may be about to be
 * recorded; a shared one (a base layer, a context) may be about to be adopted by a live build.
 */
function unreferencedRemovable(name: string, madeMs: number, alive: boolean): boolean {
  const step = stepPattern.exec(name);
  if (step) {
    const pid = Number.parseInt(step[1]!, 36);
    // This process runs no solve while it collects (a prune, or after its build's solve ended).
    return pid === process.pid || pidOwnerGone(pid, madeMs);
  }
  return !alive;
}

/** A step result's name (the worker's newKey: `run-PID36-SEQ36-HEX`): only records lead a build to it. */
const stepPattern = /^(?:run|file)-([0-9a-z]+)-[0-9a-z]+-[0-9a-f]{8}$/;

function isStepResult(name: string): boolean {
  return stepPattern.test(name);
}

function snapshotType(name: string): string {
  if (name.startsWith("local-")) return "source.local";
  if (name.startsWith("git-")) return "source.git.checkout";
  return "regular";
}

function snapshotDescription(name: string): string {
  if (name.startsWith("diff-")) return `base layer sha256:${name.slice(5, 17)}`;
  if (name.startsWith("chain-") || name.startsWith("links-")) return "base layer (links to lower layers)";
  if (name.startsWith("local-")) return "local context";
  return "(no record names it)";
}
