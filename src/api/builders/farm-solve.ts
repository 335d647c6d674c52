/**
 * A build on a builder's nodes: each requested platform goes to the first node that builds it best — one
 * it was set for (`create --platform`), else one that runs it natively, else one that emulates it (said
 * in progress) — and each node solves its platforms at once, the local node in this process and the
 * others over their driver. A node that is down or fails fails the build, naming it and why; with
 * allowFallback its platforms go to the next node that can build them.
 */
import { UserError } from "../../errors/user-error.ts";
import { formatPlatform, parsePlatform, samePlatform } from "../../oci/platform.ts";
import type { PlatformSummary, ProgressEvent } from "../../progress/events.ts";
import type { ResultRef, SolvedPlatform, SolvePlatform } from "../../solver/types.ts";
import type { BuilderRecord } from "./builder-record.ts";
import { type ProbedNode, probeBuilder } from "./node-probe.ts";
import type { NodeSolveRequest, NodeSolveResult } from "./node-solve.ts";

export interface FarmSolveRequest extends Omit<NodeSolveRequest, "platforms"> {
  builder: BuilderRecord;
  platforms: readonly SolvePlatform[];
  allowFallback: boolean;
  /**
   * The flag that needs the results' files or containers here (`--test`, `--cache-to`, `--sbom`): only
   * local results give them yet, so a platform routed elsewhere is an error naming it.
   */
  needsLocalRefs: string | undefined;
  /**
   * Every `--cache-to` is of registry type: a node that exports cache itself (a BuildKit daemon) takes
   * them, when it builds every platform (two writers of one cache ref would undo each other).
   */
  nodeCacheTo?: boolean;
  /** Solves platforms in this process (the local node). */
  local: (platforms: readonly SolvePlatform[]) => Promise<ResultRef[]>;
}

export interface FarmSolveResult {
  refs: ResultRef[];
  /** Indexes of the platforms built elsewhere (their refs give layers only). */
  remote: Set<number>;
  summaries: PlatformSummary[];
  transfers: { node: string; transfer: NodeSolveResult["transfer"] }[];
  /** The `--cache-to` was written by the node that built every platform: nothing is left to export here. */
  cacheExported: boolean;
}

interface Choice {
  probed: ProbedNode;
  rank: number;
  emulated: boolean;
}

const matches = (list: readonly string[], p: string) =>
  list.some((q) => samePlatform(parsePlatform(q), parsePlatform(p)));

/** The nodes that can build `platform`, best first (ties keep the builder's order). */
function candidates(nodes: readonly ProbedNode[], platform: string): Choice[] {
  const out: Choice[] = [];
  for (const probed of nodes) {
    if (!probed.status.ok) continue;
    const info = probed.status.info;
    const native = matches(info.native, platform);
    const emulated = !native && matches(info.emulated, platform);
    if (probed.node.platforms.length > 0) {
      if (matches(probed.node.platforms, platform) && (native || emulated))
        out.push({ probed, rank: 0, emulated });
    } else if (native) out.push({ probed, rank: 1, emulated: false });
    else if (emulated) out.push({ probed, rank: 2, emulated: true });
  }
  return out.sort((a, b) => a.rank - b.rank);
}

function remoteRef(node: string, solved: SolvedPlatform): ResultRef {
  const notHere = (what: string) =>
    new UserError(`${what} is not available for ${formatPlatform(solved.platform)}, built on node ${node}`, {
      hint: "build that platform on this machine (the default builder), or use an image output",
    });
  return {
    platform: solved.platform,
    layers: async () => solved,
    tree: () => Promise.reject(notHere("the result's files")),
    cache: () => {
      throw notHere("--cache-to");
    },
    cacheChains: () => Promise.reject(notHere("--cache-to mode=max")),
    run: () => Promise.reject(notHere("running the result (--test)")),
  };
}

export async function solveOnBuilder(req: FarmSolveRequest): Promise<FarmSolveResult> {
  const abort = new AbortController();
  const onAbort = () => abort.abort(req.signal.reason);
  req.signal.addEventListener("abort", onAbort, { once: true });
  // Each ssh node's probe is the build's own session (its hello says what the node is).
  const probed = await probeBuilder(req.builder, req.version, undefined, abort.signal);
  const closeAll = () => Promise.all(probed.map((p) => p.connection?.close()));
  try {
    return await solveRouted(req, probed, abort);
  } finally {
    req.signal.removeEventListener("abort", onAbort);
    await closeAll();
  }
}

async function solveRouted(
  req: FarmSolveRequest,
  probed: ProbedNode[],
  abort: AbortController,
): Promise<FarmSolveResult> {
  const { builder, emit } = req;
  const down = probed.filter((p) => !p.status.ok);
  for (const p of down) {
    if (p.status.ok) continue;
    if (!req.allowFallback) {
      throw new UserError(
        `node ${p.node.name} of builder ${builder.name} (${p.node.endpoint}) is down: ${p.status.error}`,
        {
          hint: `${p.status.hint ? `${p.status.hint}; ` : ""}or build without it: --allow-fallback, or polyarch create --name ${builder.name} --node ${p.node.name} --leave`,
        },
      );
    }
    emit({
      type: "warning",
      message: `node ${p.node.name} is down (${p.status.error}): building without it`,
      at: Date.now(),
    });
  }
  const failed = new Set<string>();
  const refs: ResultRef[] = new Array(req.platforms.length);
  const remote = new Set<number>();
  const summaries: PlatformSummary[] = [];
  const transfers: FarmSolveResult["transfers"] = [];
  let cacheExported = false;
  const takesCache = (p: ProbedNode) =>
    req.needsLocalRefs === "--cache-to" && req.nodeCacheTo === true && p.connection?.exportsCache === true;

  const route = (indexes: readonly number[]) => {
    const groups = new Map<ProbedNode, { index: number; emulated: boolean }[]>();
    for (const i of indexes) {
      const platform = formatPlatform(req.platforms[i]!.platform);
      const choice = candidates(probed, platform).find((c) => !failed.has(c.probed.node.name));
      if (!choice) {
        throw new UserError(`no node of builder ${builder.name} can build ${platform}`, {
          hint: `add one: polyarch create --name ${builder.name} --append --platform ${platform} ssh://user@host (\`polyarch ls\` shows what each node builds)`,
        });
      }
      const g = groups.get(choice.probed) ?? [];
      g.push({ index: i, emulated: choice.emulated });
      groups.set(choice.probed, g);
      const id = `route:${platform}:${choice.probed.node.name}`;
      const at = Date.now();
      const name = `[internal] ${platform} on node ${choice.probed.node.name}${choice.emulated ? " (emulated there)" : ""}`;
      emit({ type: "vertex.start", id, name, at } as ProgressEvent);
      emit({ type: "vertex.done", id, durationMs: 0, at } as ProgressEvent);
    }
    return groups;
  };

  const runGroup = async (probedNode: ProbedNode, items: { index: number }[]): Promise<void> => {
    const subset = items.map((x) => req.platforms[x.index]!);
    if (probedNode.node.driver === "local") {
      const got = await req.local(subset);
      items.forEach((x, k) => {
        refs[x.index] = got[k]!;
      });
      return;
    }
    if (req.needsLocalRefs && !takesCache(probedNode)) {
      throw new UserError(
        `${req.needsLocalRefs} needs the result here, but ${formatPlatform(subset[0]!.platform)} is built on node ${probedNode.node.name}`,
        {
          hint: `build without ${req.needsLocalRefs} on a builder with other nodes, or on the default builder`,
        },
      );
    }
    try {
      const connection = probedNode.connection;
      if (!connection) throw new UserError(`node ${probedNode.node.name}: its driver cannot build here`);
      const r = await connection.solve({ ...req, platforms: subset }).finally(() => connection.close());
      items.forEach((x, k) => {
        refs[x.index] = remoteRef(probedNode.node.name, r.results[k]!);
        remote.add(x.index);
      });
      summaries.push(...r.summary);
      transfers.push({ node: probedNode.node.name, transfer: r.transfer });
    } catch (e) {
      if (!req.allowFallback || req.signal.aborted) throw e;
      failed.add(probedNode.node.name);
      emit({
        type: "warning",
        message: `${e instanceof Error ? e.message : String(e)}: building its platforms on another node`,
        at: Date.now(),
      });
      await runAll(items.map((x) => x.index));
    }
  };
  const runAll = async (indexes: readonly number[]): Promise<void> => {
    const groups = route(indexes);
    const cacheNode = [...groups.keys()].find(takesCache);
    if (cacheNode) {
      if (groups.size > 1 || indexes.length !== req.platforms.length) {
        throw new UserError(
          `--cache-to goes to node ${cacheNode.node.name}'s daemon, but other platforms build on other nodes`,
          {
            hint: "two writers of one cache ref undo each other: build every platform on that node (create --platform), or drop --cache-to",
          },
        );
      }
      cacheExported = true;
    }
    let first: { error: unknown } | undefined;
    const runs = [...groups].map(([n, items]) =>
      runGroup(n, items).catch((e: unknown) => {
        // One node failing ends the build: the others stop too (their ssh sessions end), and the error
        // reported is the first one, not the others' "disconnected".
        first ??= { error: e };
        abort.abort(e);
        throw e;
      }),
    );
    await Promise.allSettled(runs);
    if (first) throw first.error;
  };
  await runAll(req.platforms.map((_, i) => i));
  return { refs, remote, summaries, transfers, cacheExported };
}
