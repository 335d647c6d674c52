/**
 * Phase 2 of a build: which vertices must run. Starting from the demands (each platform's layers), a
 * layer found in the cache index (with its blob in the store) needs nothing; otherwise its vertex's result
 * is needed, which is cached when the index has its chain and every directory of it still exists, and
 * otherwise runs, needing its inputs' results in turn. A cached vertex never asks for its inputs, so a
 * fully cached build reads one small file per layer and nothing else.
 */
import type { ContentStore } from "../content/types.ts";
import type { BuildGraph } from "../graph/types.ts";
import type { Digest } from "../oci/digest.ts";
import type { Worker } from "../worker/worker.ts";
import type { ChainRecord, LayerRecord } from "./cache-index.ts";
import { type CacheKey, keyHex } from "./cache-key.ts";
import type { ChainEntry, ImportedCache } from "./cache-layout.ts";
import { combineChains } from "./chains.ts";
import type { DeferredBlobs } from "./types.ts";
import { stepName } from "./vertex-info.ts";
import type { Workspace } from "./workspace.ts";

/**
 * `imported`: an imported cache has the vertex's result as layers (mode=max), already copied into the store
 * and verified; the run phase unpacks them instead of running the step.
 */
export type ChainPlan =
  | { cached: ChainRecord }
  | { run: true }
  | { imported: { entry: ChainEntry; where: string } };

export interface ProbeInput {
  graph: BuildGraph;
  ws: Workspace;
  worker: Worker;
  store: ContentStore;
  key: (d: Digest) => CacheKey;
  layerKey: (d: Digest) => CacheKey;
  /** False when --no-cache (or --no-cache-filter) says to ignore the cache for this vertex. */
  cacheable: (d: Digest) => boolean;
  /** Caches given with --cache-from, asked after the local index, in order. */
  imported?: readonly ImportedCache[];
  /** Takes remote imported blobs instead of copying them (see SolverOptions.deferImportedBlobs). */
  defer?: DeferredBlobs;
  /** A cache that could not give what its record promised (the step is then made here). */
  warn?: (message: string) => void;
}

export class Probe {
  readonly #in: ProbeInput;
  readonly #plans = new Map<Digest, Promise<ChainPlan>>();
  readonly #dirs = new Map<string, Promise<boolean>>();
  /** Vertices that must run. */
  readonly runSet = new Set<Digest>();
  /** Layer vertices whose layer the cache has. */
  readonly layers = new Map<Digest, LayerRecord>();
  /** Layer vertices whose layer came from an imported cache: where from. */
  readonly importedFrom = new Map<Digest, string>();

  constructor(input: ProbeInput) {
    this.#in = input;
  }

  #exists(name: string): Promise<boolean> {
    let p = this.#dirs.get(name);
    if (!p) {
      p = this.#in.worker.hasSnapshot(name);
      this.#dirs.set(name, p);
    }
    return p;
  }

  /** Whether `d`'s result comes from the cache (and which) or must be made. */
  chain(d: Digest): Promise<ChainPlan> {
    let p = this.#plans.get(d);
    if (!p) {
      p = this.#plan(d);
      this.#plans.set(d, p);
    }
    return p;
  }

  async #plan(d: Digest): Promise<ChainPlan> {
    const { graph, ws, key, cacheable } = this.#in;
    const v = graph.vertices[d]!;
    if (v.op.kind === "source" && v.op.source.type === "scratch") return { cached: { chain: [] } };
    if (v.op.kind === "merge" || v.op.kind === "diff") {
      // Nothing to store: the result is its inputs' directories.
      const inputs = await Promise.all(v.inputs.map((i) => this.chain(i)));
      if (cacheable(d) && inputs.every((i) => "cached" in i)) {
        return {
          cached: combineChains(
            v,
            inputs.map((i) => (i as { cached: ChainRecord }).cached),
          ),
        };
      }
      // Inputs that come from an imported cache: the result is combined once they are unpacked, and
      // nothing runs.
      if (!cacheable(d) || inputs.some((i) => "run" in i)) this.runSet.add(d);
      return { run: true };
    }
    if (cacheable(d)) {
      const rec = await ws.index.getChain(key(d));
      if (rec && (await Promise.all(rec.chain.map((n) => this.#exists(n)))).every(Boolean))
        return { cached: rec };
    }
    if (cacheable(d) && (v.op.kind === "exec" || v.op.kind === "file")) {
      const imported = await this.#importedChain(d);
      if (imported) return { imported };
    }
    this.runSet.add(d);
    await Promise.all(v.inputs.map((i) => this.chain(i)));
    return { run: true };
  }

  /**
   * mode=max: a vertex's result from the first imported cache that has it, with every layer of it copied
   * into the store through the verifying ingester first (so a missing or damaged blob is a warning and the
   * step runs here, never a wrong tree).
   */
  async #importedChain(d: Digest): Promise<{ entry: ChainEntry; where: string } | undefined> {
    const key = this.#in.key(d);
    for (const cache of this.#in.imported ?? []) {
      const entry = cache.chains.get(key);
      if (!entry) continue;
      try {
        // In parallel: each is verified on its own, and their commits share directory syncs.
        await Promise.all(entry.layers.map((l) => this.#copyIn(cache, l.descriptor)));
      } catch (e) {
        this.#in.warn?.(
          `--cache-from ${cache.where}: a layer of ${stepName(this.#in.graph.vertices[d]!) ?? d} could not be used (${e instanceof Error ? e.message : String(e)}); the step is built again`,
        );
        continue;
      }
      this.importedFrom.set(d, cache.where);
      return { entry, where: cache.where };
    }
    return undefined;
  }

  async #copyIn(cache: ImportedCache, d: { digest: Digest; size: number; mediaType: string }): Promise<void> {
    const { store } = this.#in;
    if (await store.has(d.digest)) return;
    const blob = await cache.open(d as never);
    // The store verifies digest and size itself (and stops reading at the size): the source's own
    // verdict, which can come after that, must not be an unhandled error.
    blob.on("error", () => {});
    await store.write({ digest: d.digest, size: d.size }, blob, {
      where: cache.where,
      ...(cache.labels ? { labels: cache.labels } : {}),
    });
  }

  /** Looks up a layer vertex's layer; when it is not cached, plans what exporting it needs. */
  async layer(d: Digest): Promise<void> {
    const { graph, store, layerKey, cacheable } = this.#in;
    if (cacheable(d)) {
      const rec = await this.#in.ws.index.getLayer(layerKey(d));
      if (rec && (rec.empty || (await store.has(rec.descriptor.digest)))) {
        this.layers.set(d, rec);
        return;
      }
      if (await this.#fromImported(d)) return;
    }
    const v = graph.vertices[d]!;
    // COPY --link: the layer is the copy's own (its last input), whatever it was linked onto.
    await this.chain(v.op.kind === "merge" ? v.inputs[v.inputs.length - 1]! : d);
  }

  /**
   * Takes a layer vertex's layer from the first imported cache whose record has it: the blob is copied into
   * the local store through the verifying ingester, so a blob missing from the cache, or whose bytes do not
   * match, is a warning and the step is made here instead, never a wrong layer.
   */
  async #fromImported(d: Digest): Promise<boolean> {
    const { store, ws, layerKey } = this.#in;
    const key = layerKey(d);
    // The step's result may be imported whole instead (mode=max), but a layer record is all a hit needs.
    for (const cache of this.#in.imported ?? []) {
      const rec = cache.records.get(key);
      if (!rec) continue;
      if (!rec.empty) {
        const { digest } = rec.descriptor;
        const deferred = this.#in.defer && cache.has && !(await store.has(digest));
        try {
          if (!deferred) await this.#copyIn(cache, rec.descriptor);
          else if (!(await cache.has!(rec.descriptor))) throw new Error("the cache does not have it");
        } catch (e) {
          this.#in.warn?.(
            `--cache-from ${cache.where}: layer ${digest} could not be used (${e instanceof Error ? e.message : String(e)}); the step is built again`,
          );
          continue;
        }
        if (deferred) {
          // Not here: the local index learns of it once a build has it in the store.
          this.#in.defer!.defer(rec.descriptor, cache);
          this.layers.set(d, rec);
          this.importedFrom.set(d, cache.where);
          return true;
        }
        // As for a layer made here: a store ref keeps the blob while the cache entry exists.
        await store.setRef(`polyarch.io/cache/layer/${keyHex(key)}`, rec.descriptor);
      }
      await ws.index.putLayer(key, rec);
      this.layers.set(d, rec);
      this.importedFrom.set(d, cache.where);
      return true;
    }
    return false;
  }
}
