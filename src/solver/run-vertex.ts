/**
 * Runs one vertex whose result the cache does not have, and records the result in the cache index once
 * it is complete on disk. RUN and file steps hold their cache key's lock while they run; a process that
 * finds the lock taken waits, then takes the other process's result from the index.
 */
import type pLimit from "p-limit";
import { UserError } from "../errors/user-error.ts";
import type { BuildGraph } from "../graph/types.ts";
import type { Digest } from "../oci/digest.ts";
import { formatPlatform } from "../oci/platform.ts";
import type { ChainRecord } from "./cache-index.ts";
import { type CacheKey, keyHex } from "./cache-key.ts";
import { acquireForStep } from "./lock-wait.ts";
import type { RunEnv } from "./run-env.ts";
import type { HttpDownload } from "./run-http.ts";
import type { LocalSelection } from "./types.ts";
import { errorText, metaLocation, stepName, withLocation } from "./vertex-info.ts";

export interface VertexRunContext {
  env: RunEnv;
  graph: BuildGraph;
  /** Per platform of the RUN steps to run: whether it is emulated (from the preflight). */
  emulated: ReadonlyMap<string, boolean>;
  /** Bounds the RUN and file steps running at once. */
  stepLimit: ReturnType<typeof pLimit>;
  selections: ReadonlyMap<Digest, LocalSelection>;
  downloads: ReadonlyMap<Digest, HttpDownload>;
  gitCommits: ReadonlyMap<Digest, string>;
  cacheable: (d: Digest) => boolean;
  platformOf: ReadonlyMap<Digest, string>;
}

export function runVertex(
  ctx: VertexRunContext,
  d: Digest,
  key: CacheKey,
  inputs: readonly ChainRecord[],
): Promise<ChainRecord> {
  const { env, graph } = ctx;
  const v = graph.vertices[d]!;
  const op = v.op;
  const name = stepName(v) ?? d;
  const platform = ctx.platformOf.get(d);
  const isStep = op.kind === "exec" || op.kind === "file";
  const work = async (): Promise<ChainRecord> => {
    env.signal.throwIfAborted();
    let shown = false;
    const lock = isStep
      ? await acquireForStep(env, keyHex(key), d, name, () => {
          shown = true;
          env.progress.start(d, name, platform);
        })
      : undefined;
    try {
      if (lock && ctx.cacheable(d)) {
        // Another process may have made it since this build looked (it held the lock, or finished first).
        const rec = await env.ws.index.getChain(key);
        if (rec && (await Promise.all(rec.chain.map((n) => env.worker.hasSnapshot(n)))).every(Boolean)) {
          env.progress.cached(d, name, platform);
          return rec;
        }
      }
      const emulated = op.kind === "exec" && ctx.emulated.get(formatPlatform(op.platform)) === true;
      if (!shown) env.progress.start(d, name, platform, emulated);
      let record: ChainRecord;
      try {
        const dirs = inputs.map((i) => i.chain);
        let chain: string[];
        switch (op.kind) {
          // The runners (and the worker parts under them) load only when a build has work to do.
          case "exec":
            chain = await (await import("./run-exec.ts")).runExec(env, d, op, v.meta, dirs);
            break;
          case "file":
            chain = await (await import("./run-file.ts")).runFile(env, graph, d, v, op, dirs);
            break;
          case "source":
            if (op.source.type === "image")
              chain = await (await import("./run-image.ts")).runImage(env, d, op.source);
            else if (op.source.type === "local") {
              const { runLocal } = await import("./run-local.ts");
              chain = await runLocal(env, d, `local-${keyHex(key)}`, ctx.selections.get(d)!);
            } else if (op.source.type === "http") {
              const { runHttp } = await import("./run-http.ts");
              chain = await runHttp(env, `http-${keyHex(key)}`, op.source, ctx.downloads.get(d));
            } else if (op.source.type === "git") {
              const { runGit } = await import("./run-git.ts");
              chain = await runGit(env, `git-${keyHex(key)}`, op.source, ctx.gitCommits.get(d)!);
            } else throw new Error(`solver: cannot run a ${op.source.type} source`);
            break;
          default:
            throw new Error(`solver: cannot run a ${op.kind} vertex`);
        }
        // A step rebuilt after garbage collection keeps the time it was first made (created-times.ts).
        record = isStep
          ? { chain, created: await env.ws.times.forStep(key, ctx.cacheable(d)), description: name }
          : { chain, description: name };
        await env.ws.index.putChain(key, record);
      } catch (e) {
        // Stopped because the build was aborted (Ctrl-C, or another step failed): not this step's error.
        const stopped = env.signal.aborted && (e === env.signal.reason || !(e instanceof UserError));
        env.progress.done(d, stopped ? "canceled" : errorText(e));
        throw stopped ? e : withLocation(e, metaLocation(v.meta));
      }
      env.progress.done(d);
      return record;
    } finally {
      await lock?.release();
    }
  };
  return isStep ? ctx.stepLimit(work) : work();
}
