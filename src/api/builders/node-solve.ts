/**
 * The client's half of a solve on an ssh node: ships the graph (plain JSON) and the platforms routed to
 * the node, answers what the node asks for while it builds (the context files a local source selects,
 * each file's bytes only when the node's store lacks its digest; secrets for the step that mounts them;
 * registry credentials), shows the node's progress with its name, and takes the result's layer blobs
 * into the client's content store (verified by digest) so the exporter assembles the image as for a
 * local build.
 */
import { constants } from "node:fs";
import { lstat, open } from "node:fs/promises";
import { join } from "node:path";
import pLimit from "p-limit";
import type { ContentStore } from "../../content/types.ts";
import { UserError } from "../../errors/user-error.ts";
import { graphToJson } from "../../graph/serialize.ts";
import type { BuildGraph, LocalSource } from "../../graph/types.ts";
import type { Digest } from "../../oci/digest.ts";
import type { PlatformSummary, ProgressEvent } from "../../progress/events.ts";
import type { CredentialSource } from "../../registry/credentials.ts";
import type {
  LocalContextProvider,
  SecretProvider,
  SolvedPlatform,
  SolvePlatform,
} from "../../solver/types.ts";
import type { NodeRecord } from "./builder-record.ts";
import type { NodeSession } from "./ssh-session.ts";
import { parseSolvedPlatform, type WireFile, wireError } from "./wire-values.ts";

export interface NodeSolveOptions {
  noCache?: boolean;
  noCacheFilter?: readonly string[];
  allow?: readonly string[];
  execTimeoutMs?: number;
  pull?: boolean;
  insecureRegistries?: readonly string[];
}

/**
 * The build as the user gave it, before planning: what a node that runs its own Dockerfile frontend (a
 * BuildKit daemon's dockerfile.v0) builds from, where an ssh node takes the planned graph instead.
 */
export interface FrontendInputs {
  /** The context directory (a remote context already fetched here); undefined for `-` (no files). */
  contextDir: string | undefined;
  dockerfile: { path: string | undefined; displayName: string; text: string };
  buildArgs: Readonly<Record<string, string>>;
  target: string | undefined;
  labels: Readonly<Record<string, string>>;
  /** `--build-context` as the daemon takes them: a local directory, or an image/URL reference. */
  namedContexts: Readonly<Record<string, { dir: string } | { ref: string }>>;
  /** `--secret`: each id's file or environment variable, read when the daemon asks. */
  secrets: Readonly<Record<string, { file?: string; env?: string }>>;
  /** `--cache-from` / `--cache-to` of the types a daemon handles itself (registry). */
  cacheFrom: readonly { type: string; attrs: Readonly<Record<string, string>> }[];
  cacheTo: readonly { type: string; attrs: Readonly<Record<string, string>> }[];
}

export interface NodeSolveRequest {
  version: string;
  /** For nodes that run their own frontend; others ignore it. */
  frontend?: FrontendInputs;
  graph: BuildGraph;
  platforms: readonly SolvePlatform[];
  proxyEnv: Readonly<Record<string, string>>;
  localContexts: LocalContextProvider;
  secrets: SecretProvider | undefined;
  credentials: CredentialSource | undefined;
  store: ContentStore;
  emit: (event: ProgressEvent) => void;
  signal: AbortSignal;
  options: NodeSolveOptions;
}

export interface NodeSolveResult {
  results: SolvedPlatform[];
  summary: PlatformSummary[];
  /** What was sent: context files and bytes the node lacked, result blobs and bytes fetched back. */
  transfer: { contextFiles: number; contextBytes: number; resultBlobs: number; resultBytes: number };
}

async function fileDigest(path: string): Promise<Digest> {
  const { createHash } = await import("node:crypto");
  const h = createHash("sha256");
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    for await (const chunk of fh.createReadStream({ autoClose: false })) h.update(chunk as Buffer);
  } finally {
    await fh.close();
  }
  return `sha256:${h.digest("hex")}` as Digest;
}

/** A source's identity for comparison: its JSON with keys sorted. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

/** Renames a node's progress event into the client's display: ids kept apart, the node named in each step. */
function fromNode(node: string, raw: unknown): ProgressEvent | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const e = raw as Record<string, unknown>;
  const text = (v: unknown) =>
    typeof v === "string" ? v.replace(/[^\x20-\x7e\t]/g, "").slice(0, 2000) : undefined;
  const id = `${node}:${text(e.id) ?? ""}`;
  const at = Date.now();
  switch (e.type) {
    case "vertex.start":
    case "vertex.cached":
      return {
        type: e.type,
        id,
        name: `[node ${node}] ${text(e.name) ?? ""}`,
        ...(text(e.platform) ? { platform: text(e.platform)! } : {}),
        ...(e.type === "vertex.start" && e.emulated === true ? { emulated: true } : {}),
        at,
      } as ProgressEvent;
    case "vertex.log":
      return {
        type: "vertex.log",
        id,
        stream: e.stream === "stderr" ? "stderr" : "stdout",
        data: typeof e.data === "string" ? Buffer.from(e.data, "base64") : Buffer.alloc(0),
        at,
      };
    case "vertex.status":
      return {
        type: "vertex.status",
        id,
        statusId: text(e.statusId) ?? "",
        name: text(e.name) ?? "",
        ...(typeof e.current === "number" ? { current: e.current } : {}),
        ...(typeof e.total === "number" ? { total: e.total } : {}),
        ...(e.unit === "items" ? { unit: "items" } : {}),
        ...(e.done === true ? { done: true } : {}),
        at,
      } as ProgressEvent;
    case "vertex.done":
      return {
        type: "vertex.done",
        id,
        durationMs: typeof e.durationMs === "number" ? e.durationMs : 0,
        ...(text(e.error) ? { error: `node ${node}: ${text(e.error)}` } : {}),
        at,
      };
    case "warning":
      return { type: "warning", message: `node ${node}: ${text(e.message) ?? ""}`, at };
    default:
      return undefined;
  }
}

function summaries(v: unknown): PlatformSummary[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((s) => {
    const o = s as Record<string, unknown>;
    const n = (k: string) => (typeof o?.[k] === "number" ? (o[k] as number) : 0);
    return typeof o?.platform === "string"
      ? [
          {
            platform: o.platform,
            durationMs: n("durationMs"),
            steps: n("steps"),
            cached: n("cached"),
            emulatedMs: n("emulatedMs"),
          },
        ]
      : [];
  });
}

/** Runs the solve over an open session (the caller closes it). */
export async function solveOnSession(
  node: NodeRecord,
  session: NodeSession,
  req: Omit<NodeSolveRequest, "signal">,
): Promise<NodeSolveResult> {
  const { wire } = session;
  // Only the files the client listed for this build may be read for the node, and only by digest.
  const files = new Map<Digest, string>();
  const transfer = { contextFiles: 0, contextBytes: 0, resultBlobs: 0, resultBytes: 0 };
  // The node may list only the local sources of the graph it was sent, exactly as they are there (with
  // their exclude patterns): a node cannot widen a selection to files .dockerignore keeps out.
  const sources = new Map<string, LocalSource>();
  for (const v of Object.values(req.graph.vertices)) {
    if (v.op.kind === "source" && v.op.source.type === "local")
      sources.set(canonical(v.op.source), v.op.source);
  }
  try {
    wire.handle("context", async (msg) => {
      const source = sources.get(canonical(msg.source));
      if (!source) throw wireError("a request for a local source the build's graph does not have");
      const selection = await req.localContexts(source);
      const inodes = new Map<string, number>();
      const out: WireFile[] = [];
      for (const f of selection.files) {
        const entry = f as typeof f & { mtimeMs?: number; dev?: number; ino?: number; nlink?: number };
        const path = join(selection.root, f.path);
        const mtimeMs = entry.mtimeMs ?? (await lstat(path)).mtimeMs;
        const w: WireFile = { ...f, mtimeMs };
        if (f.type === "file") {
          const key =
            entry.ino !== undefined && (entry.nlink ?? 1) > 1 ? `${entry.dev}:${entry.ino}` : undefined;
          const first = key === undefined ? undefined : inodes.get(key);
          if (first !== undefined) w.link = first;
          else if (key !== undefined) inodes.set(key, out.length);
          w.digest = await fileDigest(path);
          files.set(w.digest, path);
        }
        // Only what a WireFile names travels (no device or inode numbers of this machine).
        out.push({
          path: w.path,
          type: w.type,
          mode: w.mode,
          uid: w.uid,
          gid: w.gid,
          size: w.size,
          mtimeMs: w.mtimeMs,
          ...(w.linkTarget !== undefined ? { linkTarget: w.linkTarget } : {}),
          ...(w.digest ? { digest: w.digest } : {}),
          ...(w.link !== undefined ? { link: w.link } : {}),
        });
      }
      return { files: out };
    });
    wire.handle("blob", async (msg, id) => {
      const path = files.get(msg.digest as Digest);
      if (!path) throw wireError("a request for a file this build did not list");
      const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      const size = await wire.sendBlob(id, fh.createReadStream());
      transfer.contextFiles++;
      transfer.contextBytes += size;
      return {};
    });
    wire.handle("secret", async (msg) => {
      const value = typeof msg.name === "string" ? await req.secrets?.(msg.name) : undefined;
      return { value: value === undefined ? null : value.toString("base64") };
    });
    wire.handle("credentials", async (msg) => {
      const c = typeof msg.registry === "string" ? await req.credentials?.get(msg.registry) : undefined;
      return { credentials: c ?? null };
    });
    wire.on("progress", (msg) => {
      const e = fromNode(node.name, msg.event);
      if (e) req.emit(e);
    });

    const answer = await wire.request("solve", {
      graph: JSON.parse(
        graphToJson(
          req.graph,
          req.platforms.flatMap((p) => [p.output, ...p.layerVertices, p.baseVertex]),
        ),
      ),
      platforms: req.platforms.map((p) => ({
        platform: p.platform,
        output: p.output,
        layerVertices: p.layerVertices,
        baseVertex: p.baseVertex,
        baseImage: p.baseImage ?? null,
      })),
      proxyEnv: req.proxyEnv,
      options: req.options,
    });
    if (!Array.isArray(answer.results) || answer.results.length !== req.platforms.length)
      throw wireError("results for other platforms than asked");
    const results = answer.results.map(parseSolvedPlatform);
    // The layers come back into this store, each verified against its digest as it is written.
    const wanted = new Map<Digest, number>();
    for (const r of results)
      for (const l of [...r.baseLayers, ...r.layers.flatMap((x) => (x.layer ? [x.layer] : []))])
        wanted.set(l.descriptor.digest, l.descriptor.size);
    const limit = pLimit(4);
    await Promise.all(
      [...wanted].map(([digest, size]) =>
        limit(async () => {
          if (await req.store.has(digest)) return;
          const { stream, answer: done } = await wire.requestBlob("blob", { digest });
          await req.store.write({ digest, size }, stream, { where: `node ${node.name}` });
          await done;
          transfer.resultBlobs++;
          transfer.resultBytes += size;
        }),
      ),
    );
    return { results, summary: summaries(answer.summary), transfer };
  } catch (e) {
    if (e instanceof UserError && !e.message.startsWith(`node ${node.name}`))
      throw new UserError(`node ${node.name}: ${e.message}`, {
        ...(e.hint ? { hint: e.hint } : {}),
        cause: e,
      });
    throw e;
  }
}
