/**
 * Phase 4 of a build: vertices run as soon as their inputs are ready (each once, however many platforms
 * or stages ask for it), and layer vertices' layers are exported into the content store.
 *
 * Every task is tracked: the first failure aborts the rest (running containers are killed), and nothing
 * returns while a task may still be writing or holding a mount.
 */
import { availableParallelism } from "node:os";
import pLimit from "p-limit";
import { UserError } from "../errors/user-error.ts";
import type { BuildGraph } from "../graph/types.ts";
import type { Digest } from "../oci/digest.ts";
import type { ChainRecord, LayerRecord } from "./cache-index.ts";
import { type CacheKey, keyHex } from "./cache-key.ts";
import type { ChainEntry } from "./cache-layout.ts";
import { combineChains } from "./chains.ts";
import type { Probe } from "./probe.ts";
import { runVertex, type VertexRunContext } from "./run-vertex.ts";
import type { SolvedPlatform, SolvePlatform, StoredLayer } from "./types.ts";
import { errorText, metaLocation, stepName } from "./vertex-info.ts";

const exportId = "solver:export-layers";

export interface ExecutionInput extends Omit<VertexRunContext, "stepLimit"> {
  probe: Probe;
  key: (d: Digest) => CacheKey;
  layerKey: (d: Digest) => CacheKey;
  /** Aborts the whole build (the first failure calls it). */
  abort: (reason: unknown) => void;
  stepConcurrency: number;
}

export class Execution {
  readonly #in: ExecutionInput;
  readonly #ctx: VertexRunContext;
  readonly #exportLimit = pLimit(Math.max(1, availableParallelism()));
  readonly #tasks: Promise<unknown>[] = [];
  readonly #chains = new Map<Digest, Promise<ChainRecord>>();
  readonly #running = new Map<CacheKey, Promise<ChainRecord>>();
  #firstError: { error: unknown } | undefined;
  #exporting = false;

  constructor(input: ExecutionInput) {
    this.#in = input;
    this.#ctx = { ...input, stepLimit: pLimit(Math.max(1, input.stepConcurrency)) };
  }

  get #graph(): BuildGraph {
    return this.#in.graph;
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#tasks.push(p);
    p.catch((error) => {
      if (this.#firstError === undefined && !this.#in.env.signal.aborted) {
        this.#firstError = { error };
        this.#in.abort(error);
      }
    });
    return p;
  }

  /** The first failure of the build (the reason the rest was aborted). */
  get firstError(): { error: unknown } | undefined {
    return this.#firstError;
  }

  /** A vertex's result: from the probe's cache hit, or made now (its inputs first). */
  chainOf(d: Digest): Promise<ChainRecord> {
    let p = this.#chains.get(d);
    if (!p) {
      p = this.#track(this.#makeChain(d));
      this.#chains.set(d, p);
    }
    return p;
  }

  async #makeChain(d: Digest): Promise<ChainRecord> {
    const plan = await this.#in.probe.chain(d);
    if ("cached" in plan) return plan.cached;
    const v = this.#graph.vertices[d]!;
    if ("imported" in plan) {
      const { entry, where } = plan.imported;
      try {
        return await this.#unpackImported(d, entry, where);
      } catch (e) {
        if (this.#in.env.signal.aborted) throw e;
        // A layer that does not unpack to what the record says (its diff_id): the step is made here, as
        // if the cache never had it; nothing of it was kept.
        this.#in.env.progress.emit({
          type: "warning",
          message: `--cache-from ${where}: ${stepName(v) ?? d} could not be used (${errorText(e)}); the step is built again`,
          at: Date.now(),
        });
      }
    }
    const inputs = await Promise.all(v.inputs.map((i) => this.chainOf(i)));
    this.#in.env.signal.throwIfAborted();
    if (v.op.kind === "merge" || v.op.kind === "diff") {
      const progress = this.#in.env.progress;
      progress.start(d, stepName(v) ?? d, this.#in.platformOf.get(d));
      try {
        const chain = combineChains(v, inputs);
        progress.done(d);
        return chain;
      } catch (e) {
        progress.done(d, errorText(e));
        throw e;
      }
    }
    // Two vertices can share a key (equal work reached two ways): it runs once.
    const k = this.#in.key(d);
    let run = this.#running.get(k);
    if (!run) {
      run = runVertex(this.#ctx, d, k, inputs);
      this.#running.set(k, run);
    }
    return run;
  }

  /** An imported cache's result of a step (its layers already in the store) as this machine's chain. */
  async #unpackImported(d: Digest, entry: ChainEntry, where: string): Promise<ChainRecord> {
    const { unpackLayerStack } = await import("./run-image.ts");
    const env = this.#in.env;
    const chain = await unpackLayerStack(
      env,
      d,
      entry.layers.map((l) => l.descriptor),
      entry.layers.map((l) => l.diffId),
      `--cache-from ${where}`,
    );
    const record: ChainRecord = { chain, ...(entry.created ? { created: entry.created } : {}) };
    await env.ws.index.putChain(this.#in.key(d), record);
    return record;
  }

  /** A layer vertex's layer: from the cache, or exported now by the worker from its result's top snapshot. */
  layerOf(d: Digest): Promise<LayerRecord> {
    const cached = this.#in.probe.layers.get(d);
    if (cached) return Promise.resolve(cached);
    return this.#track(this.#exportLayer(d));
  }

  async #exportLayer(d: Digest): Promise<LayerRecord> {
    const { env, layerKey } = this.#in;
    const v = this.#graph.vertices[d]!;
    let top: string;
    let lower: string[] | undefined;
    let created: string | undefined;
    if (v.op.kind === "merge") {
      // COPY --link: the copy's own layer, made on an empty tree, whatever it is linked onto.
      const own = await this.chainOf(v.inputs[v.inputs.length - 1]!);
      if (own.chain.length !== 1) {
        const location = metaLocation(v.meta);
        throw new UserError(
          "COPY --link of a multi-layer source is not supported yet",
          location ? { location } : {},
        );
      }
      top = own.chain[0]!;
      created = own.created;
    } else if (v.op.kind === "exec" || v.op.kind === "file" || isLocalSource(v.op)) {
      // A local source is a layer when an image starts from a named local context (its directory, whole).
      const result = await this.chainOf(d);
      top = result.chain[result.chain.length - 1]!;
      lower = result.chain.slice(0, -1);
      created = result.created;
    } else {
      throw new Error(`solver: vertex ${d} (${v.op.kind}) cannot be a layer`);
    }
    return this.#exportLimit(async () => {
      env.signal.throwIfAborted();
      if (!this.#exporting) {
        this.#exporting = true;
        env.progress.start(exportId, "exporting layers", undefined);
      }
      const rec: LayerRecord = {
        ...(await env.worker.exportLayer({ top, lower, into: env.store })),
        created: created ?? new Date().toISOString(),
      };
      // A store ref keeps the blob from the store's garbage collection while the cache entry exists.
      if (!rec.empty)
        await env.store.setRef(`polyarch.io/cache/layer/${keyHex(layerKey(d))}`, rec.descriptor);
      await env.ws.index.putLayer(layerKey(d), rec);
      const what = rec.empty ? `${stepName(v) ?? d}: no changes` : rec.descriptor.digest;
      env.progress.status(exportId, d, what, { done: true });
      return rec;
    });
  }

  /**
   * One platform's result: its layers (the base image's, pulled when missing, and one per layer vertex)
   * and, when `tree`, the chain of its root filesystem.
   */
  platform(
    p: SolvePlatform,
    tree: boolean,
  ): Promise<{ layers: SolvedPlatform; chain: ChainRecord | undefined }> {
    return this.#track(
      (async () => {
        const [baseLayers, layers, chain] = await Promise.all([
          this.#baseLayers(p),
          Promise.all(p.layerVertices.map((d) => this.layerOf(d))),
          tree ? this.chainOf(p.output) : undefined,
        ]);
        const solved: SolvedPlatform = {
          platform: p.platform,
          baseLayers,
          layers: layers.map((r) => ({
            layer: r.empty ? null : { descriptor: r.descriptor, diffId: r.diffId },
            created: r.created,
          })),
        };
        return { layers: solved, chain };
      })(),
    );
  }

  async #baseLayers(p: SolvePlatform): Promise<StoredLayer[]> {
    if (!p.baseImage) return [];
    if (!p.baseImage.digest)
      throw new UserError(`base image ${p.baseImage.ref} was not resolved to a digest`);
    const image = await this.#in.env.images.withLayers(p.baseImage.ref, p.baseImage.digest, p.platform);
    const diffIds = image.config.rootfs.diff_ids;
    return image.manifest.layers.map((descriptor, i) => ({ descriptor, diffId: diffIds[i]! }));
  }

  /** Resolves once no task of this build is running any more (whether they succeeded or not). */
  async settle(): Promise<void> {
    for (let n = -1; n !== this.#tasks.length; ) {
      n = this.#tasks.length;
      await Promise.allSettled(this.#tasks);
    }
    if (this.#exporting) {
      this.#exporting = false;
      this.#in.env.progress.done(exportId, this.#in.env.signal.aborted ? "canceled" : undefined);
    }
  }
}

function isLocalSource(op: BuildGraph["vertices"][string]["op"]): boolean {
  return op.kind === "source" && op.source.type === "local";
}
