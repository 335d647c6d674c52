/**
 * The solver: runs a build graph for every requested platform, each vertex at most once per build, and
 * no vertex whose result the cache already has.
 *
 * A build goes through four phases, so that a fully cached build does nothing but hash its context and
 * read a few small index files (no snapshotter, no runc, no tar, no registry):
 *  1. keys (source-content.ts, cache-key.ts): hash the local sources' selections, compute every needed
 *     vertex's cache key;
 *  2. probe (probe.ts): from the demands (each platform's layers), look results up in the cache index and
 *     decide which vertices must run;
 *  3. preflight (preflight.ts): every RUN that must run can run here, or the build fails before any step;
 *  4. run (execution.ts): vertices run as soon as their inputs are ready, RUN steps with bounded
 *     concurrency; each result is recorded in the cache index once it is complete on disk.
 */
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { UserError } from "../errors/user-error.ts";
import type { BuildGraph } from "../graph/types.ts";
import { topologicalOrder } from "../graph/walk.ts";
import type { Digest } from "../oci/digest.ts";
import { formatPlatform } from "../oci/platform.ts";
import type { PlatformSummary } from "../progress/events.ts";
import type { Worker, WorkerLayer } from "../worker/worker.ts";
import { type CacheKey, computeCacheKeys, deriveKey } from "./cache-key.ts";
import type { CacheEntry, ChainEntry, ChainLayer, ImportedCache, PlatformCache } from "./cache-layout.ts";
import { archiveCacheMounts, type CacheMountArchive, type CacheMountSeed } from "./cache-mount-archive.ts";
import { cacheMountDirName, cacheMountsOf } from "./cache-mount-key.ts";
import { Execution } from "./execution.ts";
import { removeDeadBuildLeftovers } from "./leftovers.ts";
import { preflight } from "./preflight.ts";
import { Probe } from "./probe.ts";
import { ProgressTracker } from "./progress-tracker.ts";
import { discardDownloads, readSourceContent, type SourceContent } from "./source-content.ts";
import type {
  ResultRef,
  SolvedPlatform,
  SolvePlatform,
  SolveRequest,
  SolveResult,
  SolverOptions,
} from "./types.ts";
import { stepName } from "./vertex-info.ts";
import { Workspace } from "./workspace.ts";

export class Solver {
  readonly #options: SolverOptions;
  readonly #ws: Workspace;
  readonly #progress: ProgressTracker;
  /** mode=max: each exported snapshot's layer, by its chain (bottom first). */
  readonly #chainLayers = new Map<string, Promise<WorkerLayer>>();

  constructor(options: SolverOptions) {
    this.#options = options;
    this.#ws = new Workspace(options.stateRoot, options.worker, {
      ...(options.lockTimeoutMs !== undefined ? { lockTimeoutMs: options.lockTimeoutMs } : {}),
    });
    this.#progress = new ProgressTracker(options.progress);
  }

  /** The build's progress events (the caller adds its own steps, e.g. exporting, through it). */
  get progress(): ProgressTracker {
    return this.#progress;
  }

  /** Per-platform totals so far (also after a failure), for the build's closing summary. */
  summary(): PlatformSummary[] {
    return this.#progress.summary();
  }

  async solve(request: SolveRequest): Promise<SolveResult> {
    const options = this.#options;
    const internal = new AbortController();
    const onAbort = () => internal.abort(options.signal?.reason);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    let sources: SourceContent | undefined;
    let ranSteps = false;
    // Every output holds its platforms' base layers: their pull starts now, beside the leftover sweep, the
    // keys and the probe, instead of after them (the execution's own ask then waits for the same pull).
    const prefetches = request.platforms.flatMap((p) =>
      p.baseImage?.digest
        ? [options.images.prefetchLayers(p.baseImage.ref, p.baseImage.digest, p.platform)]
        : [],
    );
    try {
      await options.worker.removeDeadLeftovers();
      await removeDeadBuildLeftovers(options.stateRoot);
      await this.#ws.begin();
      const result = await this.#solve(request, internal, (s) => {
        sources = s;
      });
      ranSteps = result.ran.length > 0;
      return result;
    } catch (e) {
      ranSteps = true;
      if (options.signal?.aborted) throw canceled(options.signal.reason);
      throw e;
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      // Nothing of this build may still be writing to the store when it returns.
      await Promise.allSettled(prefetches);
      if (sources) await discardDownloads(sources);
      await this.#ws.finish(ranSteps && !options.signal?.aborted);
    }
  }

  async #solve(
    request: SolveRequest,
    internal: AbortController,
    keep: (s: SourceContent) => void,
  ): Promise<SolveResult> {
    const options = this.#options;
    const { graph } = request;
    const ws = this.#ws;
    const signal = internal.signal;

    // 1. keys
    const roots = request.platforms.flatMap((p) => [p.output, ...p.layerVertices, p.baseVertex]);
    const order = topologicalOrder(graph, roots);
    const platformOf = this.#platformLabels(graph, request);
    this.#progress.stepInputs(reportedInputs(graph, order));
    const sources = await readSourceContent(graph, order, options.localContexts, ws, signal);
    keep(sources);
    const keys = computeCacheKeys(graph, order, sources.content);
    const key = (d: Digest): CacheKey => keys.get(d)!;
    const layerKey = (d: Digest): CacheKey => deriveKey(key(d), { layer: "gzip" });

    // 2. probe
    const filter = new Set((options.noCacheFilter ?? []).map((s) => s.toLowerCase()));
    const fresh = new Map<Digest, boolean>();
    for (const d of order) {
      const v = graph.vertices[d]!;
      // Sources are content-addressed data, not computations: --no-cache never refetches them. A step
      // that must run again makes every step after it run again (its input may have changed).
      const own =
        v.op.kind !== "source" &&
        (options.noCache === true || (v.meta?.stage !== undefined && filter.has(v.meta.stage.toLowerCase())));
      fresh.set(d, own || v.inputs.some((i) => fresh.get(i)));
    }
    const cacheable = (d: Digest): boolean => !fresh.get(d);
    const worker = options.worker;
    const probe = new Probe({
      graph,
      ws,
      worker,
      store: options.store,
      key,
      layerKey,
      cacheable,
      imported: options.cacheFrom ?? [],
      ...(options.deferImportedBlobs ? { defer: options.deferImportedBlobs } : {}),
      warn: (message) => this.#progress.emit({ type: "warning", message, at: Date.now() }),
    });
    const layerVertices = [...new Set(request.platforms.flatMap((p) => p.layerVertices))];
    await Promise.all(layerVertices.map((d) => probe.layer(d)));
    if (request.trees) await Promise.all(request.platforms.map((p) => probe.chain(p.output)));
    for (const p of request.platforms) {
      const base = graph.vertices[p.baseVertex]!;
      if (!p.baseImage && !(base.op.kind === "source" && base.op.source.type === "scratch")) {
        throw new UserError(
          `${formatPlatform(p.platform)}: an image that starts from a local named context is not supported yet`,
          { hint: "start the final stage FROM an image or scratch, and COPY --from the context" },
        );
      }
    }

    await ws.probed();

    // 3. preflight
    const emulated = await preflight(
      graph,
      probe.runSet,
      options.secrets,
      worker,
      new Set(options.allow ?? []),
      options.sshAgents,
    );

    // 4. run
    for (const d of order) {
      if (probe.runSet.has(d)) continue;
      const name = stepName(graph.vertices[d]!);
      if (name !== undefined) this.#progress.cached(d, name, platformOf.get(d), probe.importedFrom.get(d));
    }
    const execution = new Execution({
      env: {
        ws,
        worker,
        progress: this.#progress,
        store: options.store,
        images: options.images,
        localContexts: options.localContexts,
        signal,
        secrets: options.secrets,
        sshAgents: options.sshAgents,
        cacheLockTimeoutMs: options.cacheLockTimeoutMs,
        cacheMountSeeds: cacheMountSeeds(options.cacheFrom ?? []),
        proxyEnv: request.proxyEnv ?? {},
        execTimeoutMs: options.execTimeoutMs,
        unpacks: new Map(),
      },
      graph,
      emulated,
      selections: sources.selections,
      downloads: sources.downloads,
      gitCommits: sources.gitCommits,
      cacheable,
      platformOf,
      probe,
      key,
      layerKey,
      abort: (reason) => internal.abort(reason),
      stepConcurrency: options.execConcurrency ?? availableParallelism() * 2,
    });
    const trees = request.trees === true;
    const settled = await Promise.allSettled(request.platforms.map((p) => execution.platform(p, trees)));
    // Nothing may still be writing (or mounted) when the build returns, whether it failed or not.
    await execution.settle();
    const failed = settled.find((s) => s.status === "rejected") as PromiseRejectedResult | undefined;
    await worker.settle();
    if (execution.firstError || failed)
      throw execution.firstError ? execution.firstError.error : failed!.reason;
    return {
      refs: settled.map((s, i) => {
        const { layers, chain } = (s as PromiseFulfilledResult<Awaited<ReturnType<Execution["platform"]>>>)
          .value;
        const p = request.platforms[i]!;
        const entries = p.layerVertices.map((d, j): CacheEntry => {
          const l = layers.layers[j]!;
          const created = l.created ? { created: l.created } : {};
          return {
            key: layerKey(d),
            record: l.layer ? { empty: false, ...l.layer, ...created } : { empty: true, ...created },
          };
        });
        const chains = () => this.#cacheChains(graph, p, key);
        return resultRef(p, layers, chain?.chain, worker, { platform: p.platform, entries }, chains);
      }),
      ran: [...probe.runSet],
      cached: order.filter((d) => !probe.runSet.has(d)),
    };
  }

  /**
   * mode=max records of one platform: each exec/file step's result chain as layers, bottom first. A
   * snapshot's layer is its changes over the snapshots below it (the worker's deterministic export), made
   * once per build however many chains share it; snapshots that changed nothing add no layer.
   */
  async #cacheChains(
    graph: BuildGraph,
    p: SolvePlatform,
    key: (d: Digest) => CacheKey,
  ): Promise<ChainEntry[]> {
    const { worker, store } = this.#options;
    const mine = topologicalOrder(graph, [p.output, ...p.layerVertices, p.baseVertex]);
    const out: ChainEntry[] = [];
    for (const d of mine) {
      const v = graph.vertices[d]!;
      if (v.op.kind !== "exec" && v.op.kind !== "file") continue;
      const k = key(d);
      const rec = await this.#ws.index.getChain(k);
      if (!rec || !(await Promise.all(rec.chain.map((n) => worker.hasSnapshot(n)))).every(Boolean)) {
        // Not made here (a layer hit never needed it): an imported cache's record of it is carried on, so
        // `--cache-from R --cache-to R,mode=max` on a fresh machine keeps what R had.
        const imported = (this.#options.cacheFrom ?? []).map((c) => c.chains.get(k)).find((c) => c);
        if (imported) out.push(imported);
        continue;
      }
      const layers: ChainLayer[] = [];
      for (let i = 0; i < rec.chain.length; i++) {
        const at = rec.chain.slice(0, i + 1).join("\n");
        let layer = this.#chainLayers.get(at);
        if (!layer) {
          layer = worker.exportLayer({ top: rec.chain[i]!, lower: rec.chain.slice(0, i), into: store });
          this.#chainLayers.set(at, layer);
        }
        const l = await layer;
        if (!l.empty) layers.push({ descriptor: l.descriptor, diffId: l.diffId });
      }
      out.push({ key: k, layers, ...(rec.created ? { created: rec.created } : {}) });
    }
    return out;
  }

  /**
   * Archives the contents of the cache mounts `graph`'s steps use, as this state dir holds them, into the
   * store (`--cache-to …,cache-mounts=true`); see cache-mount-archive.ts.
   */
  archiveCacheMounts(graph: BuildGraph, warn: (message: string) => void): Promise<CacheMountArchive[]> {
    return archiveCacheMounts({
      root: join(this.#ws.root, "cache-mounts"),
      keys: cacheMountsOf(graph),
      worker: this.#options.worker,
      into: this.#options.store,
      locks: this.#ws.locks,
      warn,
      seeds: cacheMountSeeds(this.#options.cacheFrom ?? []),
    });
  }

  /** Which platform a vertex belongs to when exactly one platform needs it (shared vertices have none). */
  #platformLabels(graph: BuildGraph, request: SolveRequest): Map<Digest, string> {
    const count = new Map<Digest, number>();
    const label = new Map<Digest, string>();
    for (const p of request.platforms) {
      const name = formatPlatform(p.platform);
      const mine = topologicalOrder(graph, [p.output, ...p.layerVertices, p.baseVertex]);
      this.#progress.platformSteps(
        name,
        mine.filter((d) => stepName(graph.vertices[d]!) !== undefined),
      );
      for (const d of mine) {
        count.set(d, (count.get(d) ?? 0) + 1);
        label.set(d, name);
      }
    }
    for (const [d, n] of count) if (n > 1) label.delete(d);
    return label;
  }
}

/**
 * The handle on one platform's result. Its gzip layers were made during the solve (every image output
 * needs them, and making them there overlaps with the steps still running); its tree is a view of its
 * chain, made when asked for.
 */
function resultRef(
  p: SolvePlatform,
  layers: SolvedPlatform,
  chain: readonly string[] | undefined,
  worker: Worker,
  cache: PlatformCache,
  cacheChains: () => Promise<ChainEntry[]>,
): ResultRef {
  return {
    platform: p.platform,
    cache: () => cache,
    cacheChains,
    layers: async () => layers,
    tree: async () => worker.view(treeChain(chain)),
    run: (run) => worker.runContainer({ ...run, base: treeChain(chain), platform: p.platform }),
  };
}

function treeChain(chain: readonly string[] | undefined): readonly string[] {
  if (chain === undefined)
    throw new Error("solver: a result's tree was asked for, but the solve was not asked for trees");
  return chain;
}

function canceled(reason: unknown): UserError {
  return new UserError("the build was canceled", { cause: reason });
}

/**
 * Each reported step's inputs as BuildKit's vertices list them: the steps it reads from. A vertex that is
 * not reported (no step name: scratch, a merge, a file op's helper) is looked through to the reported
 * steps it reads from, so every digest a progress reader sees is one it was told about.
 */
function reportedInputs(graph: BuildGraph, order: readonly Digest[]): Map<string, string[]> {
  const nearest = new Map<Digest, Digest[]>();
  const out = new Map<string, string[]>();
  for (const d of order) {
    const v = graph.vertices[d]!;
    const from = [...new Set(v.inputs.flatMap((i) => nearest.get(i) ?? []))];
    if (stepName(v) !== undefined) {
      if (from.length > 0) out.set(d, from);
      nearest.set(d, [d]);
    } else nearest.set(d, from);
  }
  return out;
}

/** The cache mounts the imported caches carry, by directory name; the first --cache-from that has one wins. */
function cacheMountSeeds(caches: readonly ImportedCache[]): Map<string, CacheMountSeed> {
  const seeds = new Map<string, CacheMountSeed>();
  for (const c of caches) {
    for (const archive of c.mounts ?? []) {
      const name = cacheMountDirName(archive.key);
      if (!seeds.has(name)) seeds.set(name, { where: c.where, archive, open: (d) => c.open(d) });
    }
  }
  return seeds;
}
