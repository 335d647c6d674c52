/**
 * `polyarch node-serve`: the node's half of a build on an ssh node. Started by the client over ssh, it
 * speaks the wire protocol (wire.ts) on stdin/stdout: it answers `solve` by running the client's graph for
 * the platforms it was given on its own worker, state directory and cache, streams progress as it goes,
 * and serves the result's blobs by digest. Everything it needs of the client is asked for when needed:
 * context files (only those its store lacks), secrets (kept in memory for the step) and registry
 * credentials (never written anywhere). Each solve is logged to `<state>/node-serve.log` (one JSON line:
 * platforms, steps run and cached), so what ran where can be checked on the node itself.
 */
import { appendFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { openContentStore } from "../../content/local-store.ts";
import { defaultStateDir } from "../../content/paths.ts";
import { prepareStateRoot } from "../../content/state-root.ts";
import { uniqueSuffix } from "../../fsutil/atomic-file.ts";
import { graphFromValue } from "../../graph/serialize.ts";
import { isDigest } from "../../oci/digest.ts";
import { formatPlatform } from "../../oci/platform.ts";
import type { PlatformSummary, ProgressEvent, ProgressSink } from "../../progress/events.ts";
import type { Credentials } from "../../registry/credentials.ts";
import { ImageResolver } from "../../solver/image-resolver.ts";
import { nodeContexts } from "./node-context.ts";
import { localNodeInfo } from "./node-info.ts";
import { Wire, type WireMessage } from "./wire.ts";
import { parseSolvePlatforms, wireError } from "./wire-values.ts";

/** The progress events a node forwards (the client frames the build itself). */
const forwarded = new Set([
  "vertex.start",
  "vertex.cached",
  "vertex.log",
  "vertex.status",
  "vertex.done",
  "warning",
]);

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((s) => typeof s === "string") ? (v as string[]) : undefined;
}

export async function serveNode(
  version: string,
  input = process.stdin,
  output = process.stdout,
): Promise<void> {
  const stateRoot = defaultStateDir();
  await prepareStateRoot(stateRoot);
  const store = await openContentStore(join(stateRoot, "content"));
  const wire = new Wire(input, output);
  const abort = new AbortController();
  const closed = new Promise<void>((resolve) =>
    wire.onClose(() => {
      abort.abort(new Error("the client went away"));
      resolve();
    }),
  );

  wire.handle("blob", async (msg, id) => {
    if (typeof msg.digest !== "string" || !isDigest(msg.digest)) throw wireError("a bad blob digest");
    await wire.sendBlob(id, await store.readStream(msg.digest));
    return {};
  });

  wire.handle("solve", async (msg) => {
    const graph = graphFromValue(msg.graph);
    const platforms = parseSolvePlatforms(msg.platforms, (d) => graph.vertices[d] !== undefined);
    const opts = (typeof msg.options === "object" && msg.options !== null ? msg.options : {}) as Record<
      string,
      unknown
    >;
    const proxyEnv = (
      typeof msg.proxyEnv === "object" && msg.proxyEnv !== null ? msg.proxyEnv : {}
    ) as Record<string, string>;
    const scratch = join(stateRoot, "node-serve", `${uniqueSuffix()}`);
    const contexts = nodeContexts(wire, store, scratch);
    // Registries whose credentials were asked of the client (names only: the log never holds a secret).
    const askedFor = new Set<string>();
    const progress: ProgressSink = {
      emit(event: ProgressEvent) {
        if (!forwarded.has(event.type)) return;
        const e =
          event.type === "vertex.log"
            ? { ...event, data: Buffer.from(event.data).toString("base64") }
            : event;
        wire.event("progress", { event: e }).catch(() => {});
      },
      close: async () => {},
    } as ProgressSink;
    const resolver = new ImageResolver({
      store,
      registry: {
        credentials: {
          async get(registry: string): Promise<Credentials | undefined> {
            askedFor.add(registry);
            const a = await wire.request("credentials", { registry });
            const c = a.credentials as Record<string, unknown> | null | undefined;
            if (!c) return undefined;
            const out: Credentials = {};
            for (const k of ["username", "password", "identityToken", "registryToken"] as const)
              if (typeof c[k] === "string") out[k] = c[k] as string;
            return out;
          },
        },
        ...(strings(opts.insecureRegistries)
          ? { insecureRegistries: strings(opts.insecureRegistries)! }
          : {}),
      },
      ...(opts.pull === true ? { pull: true } : {}),
    });
    const [{ Solver }, { LocalWorker }] = await Promise.all([
      import("../../solver/solver.ts"),
      import("../../worker/local/local-worker.ts"),
    ]);
    const worker = new LocalWorker({ stateRoot });
    const solver = new Solver({
      stateRoot,
      worker,
      store,
      progress,
      images: resolver,
      localContexts: contexts.provider,
      secrets: async (id: string) => {
        const a = await wire.request("secret", { name: id });
        return typeof a.value === "string" ? Buffer.from(a.value, "base64") : undefined;
      },
      ...(opts.noCache === true ? { noCache: true } : {}),
      ...(strings(opts.noCacheFilter) ? { noCacheFilter: strings(opts.noCacheFilter)! } : {}),
      ...(strings(opts.allow) ? { allow: strings(opts.allow)! } : {}),
      ...(typeof opts.execTimeoutMs === "number" ? { execTimeoutMs: opts.execTimeoutMs } : {}),
      signal: abort.signal,
    });
    try {
      const solved = await solver.solve({ graph, platforms, proxyEnv });
      const results = [];
      for (const ref of solved.refs) results.push(await ref.layers("gzip"));
      const summary: PlatformSummary[] = solver.summary();
      await appendFile(
        join(stateRoot, "node-serve.log"),
        `${JSON.stringify({
          at: new Date().toISOString(),
          version,
          platforms: platforms.map((p) => formatPlatform(p.platform)),
          ran: solved.ran,
          cached: solved.cached,
          contextFilesFetched: contexts.fetched.files,
          contextBytesFetched: contexts.fetched.bytes,
          credentialsAskedFor: [...askedFor],
        })}\n`,
        { mode: 0o600 },
      );
      return { results, summary, fetched: contexts.fetched } as WireMessage;
    } finally {
      await worker.settle();
      await resolver.close();
      await rm(scratch, { recursive: true, force: true });
    }
  });

  await wire.event("hello", { version, info: await localNodeInfo(version) });
  await closed;
}
