/**
 * A BuildKit daemon as a builder's node (buildx's `remote` driver): `unix:///path` or `tcp://host:port`,
 * with mutual TLS from `--driver-opt cacert=,cert=,key=,servername=`. Nothing of polyarch runs there: the
 * node builds its platforms with the daemon's own dockerfile.v0 frontend from the build's Dockerfile-level
 * inputs (FrontendInputs), and its images come back as OCI into the client's store, where the client's
 * exporters assemble them with the other nodes' into one index.
 */
import { access, constants, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import {
  type BuildKitEndpoint,
  type BuildKitNodeInfo,
  buildWithBuildKit,
  endpointFromDriverOpts,
  formatBuildKitAddress,
  inspectBuildKitNode,
  parseBuildKitAddress,
  type SecretValue,
} from "../../buildkit/index.ts";
import type { ContentStore } from "../../content/types.ts";
import { UserError } from "../../errors/user-error.ts";
import type { Descriptor } from "../../oci/descriptor.ts";
import { parseImageConfig } from "../../oci/image-config.ts";
import { parseAnyManifest } from "../../oci/manifest.ts";
import { formatPlatform, type Platform, samePlatform } from "../../oci/platform.ts";
import type { ProgressEvent } from "../../progress/events.ts";
import type { SolvedPlatform } from "../../solver/types.ts";
import type { NodeRecord } from "./builder-record.ts";
import { type NodeDriver, type NodeStatus, registerNodeDriver } from "./node-driver.ts";
import type { NodeInfo } from "./node-info.ts";
import type { FrontendInputs, NodeSolveRequest, NodeSolveResult } from "./node-solve.ts";

const PATH_OPTS = ["cacert", "cert", "key"] as const;

function endpointOf(node: NodeRecord): BuildKitEndpoint {
  return endpointFromDriverOpts(node.endpoint, node.driverOpts ?? {});
}

/** The daemon's answer as a node's: its first worker platform is the daemon's own, the others emulated. */
function nodeInfoOf(info: BuildKitNodeInfo): NodeInfo {
  const [native, ...emulated] = info.platforms.map(formatPlatform);
  return {
    polyarch: "",
    engine: `BuildKit ${info.version}`,
    node: "",
    runc: undefined,
    native: native ? [native] : [],
    emulated,
    problems: [],
  };
}

/** A daemon's error, as one line naming the node (not the endpoint alone). */
function named(node: NodeRecord, e: unknown): unknown {
  if (!(e instanceof UserError)) return e;
  const message = e.message
    .replace(`BuildKit node ${node.name} (${node.endpoint}): `, "")
    .replace(`BuildKit node ${node.endpoint}: `, "");
  return new UserError(`node ${node.name} (BuildKit at ${node.endpoint}): ${message}`, {
    ...(e.hint ? { hint: e.hint } : {}),
    ...(e.location ? { location: e.location } : {}),
    cause: e,
  });
}

function secretsOf(given: FrontendInputs["secrets"]): Map<string, SecretValue> {
  const out = new Map<string, SecretValue>();
  for (const [id, spec] of Object.entries(given)) {
    if (spec.file !== undefined) out.set(id, { file: spec.file });
    else if (spec.env !== undefined && process.env[spec.env] !== undefined)
      out.set(id, { data: Buffer.from(process.env[spec.env]!, "utf8") });
  }
  return out;
}

async function platformResult(
  store: ContentStore,
  images: readonly Descriptor[],
  platform: Platform,
  where: string,
): Promise<SolvedPlatform> {
  const d = images.find((x) => x.platform && samePlatform(x.platform, platform));
  if (!d) throw new UserError(`${where}: the daemon built no image for ${formatPlatform(platform)}`);
  const parsed = parseAnyManifest(await store.readBytes(d.digest), d.mediaType, `${where} ${d.digest}`);
  if (parsed.kind !== "manifest") throw new UserError(`${where}: ${d.digest} is not an image manifest`);
  const config = parseImageConfig(await store.readBytes(parsed.manifest.config.digest), `${where} config`);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== parsed.manifest.layers.length)
    throw new UserError(`${where}: the image's config and manifest list different numbers of layers`);
  return {
    platform,
    baseLayers: parsed.manifest.layers.map((descriptor, i) => ({ descriptor, diffId: diffIds[i]! })),
    layers: [],
    image: config,
  };
}

/** Counts of a platform's Dockerfile steps as the daemon reported them (`[… n/m] …` names). */
interface StepCounts {
  steps: Set<string>;
  cached: Set<string>;
}

/**
 * The daemon's step names say the node as ssh nodes' do (`[node NAME] …`), and its Dockerfile steps are
 * counted per platform for the build's summary (a daemon building one platform leaves it out of names).
 */
function relabel(
  node: string,
  platforms: readonly string[],
  emit: (e: ProgressEvent) => void,
): { sink: { emit(e: ProgressEvent): void }; counts: Map<string, StepCounts> } {
  const prefix = `[${node}] `;
  const counts = new Map(platforms.map((p) => [p, { steps: new Set<string>(), cached: new Set<string>() }]));
  const sink = {
    emit(e: ProgressEvent) {
      if ((e.type === "vertex.start" || e.type === "vertex.cached") && e.name.startsWith(prefix)) {
        const name = e.name.slice(prefix.length);
        const platform = e.platform ?? (platforms.length === 1 ? platforms[0] : undefined);
        const c = platform === undefined ? undefined : counts.get(platform);
        if (c && /^\[[^\]]*\d+\/\d+\]/.test(name)) {
          c.steps.add(e.id);
          if (e.type === "vertex.cached") c.cached.add(e.id);
        }
        emit({ ...e, name: `[node ${node}] ${name}` });
      } else emit(e);
    },
  };
  return { sink, counts };
}

async function solveOnDaemon(
  node: NodeRecord,
  endpoint: BuildKitEndpoint,
  req: Omit<NodeSolveRequest, "signal">,
  signal: AbortSignal,
): Promise<NodeSolveResult> {
  const where = `node ${node.name}`;
  const inputs = req.frontend;
  if (!inputs) throw new UserError(`${where}: a BuildKit node needs the build's Dockerfile and context`);
  // The daemon reads the Dockerfile over the session from a directory: stdin's goes into a private one.
  let scratch: string | undefined;
  const scratchDir = async () => {
    scratch ??= await mkdtemp(resolve(tmpdir(), "polyarch-bk-"));
    return scratch;
  };
  try {
    const contextDir = inputs.contextDir ?? (await scratchDir());
    let dockerfile = inputs.dockerfile.path;
    if (dockerfile === undefined) {
      dockerfile = resolve(await scratchDir(), "Dockerfile");
      await writeFile(dockerfile, inputs.dockerfile.text, { mode: 0o600 });
    }
    const namedContexts: Record<string, string> = {};
    for (const [name, c] of Object.entries(inputs.namedContexts))
      namedContexts[name] = "dir" in c ? c.dir : c.ref;
    const started = Date.now();
    const { sink, counts } = relabel(
      node.name,
      req.platforms.map((p) => formatPlatform(p.platform)),
      req.emit,
    );
    const result = await buildWithBuildKit({
      node: node.name,
      endpoint,
      contextDir,
      dockerfile,
      // The client's planning accepted only the official docker/dockerfile names, which BuildKit's
      // built-in frontend is: the daemon need not pull one (nor reach Docker Hub).
      builtinFrontend: true,
      platforms: req.platforms.map((p) => p.platform),
      buildArgs: inputs.buildArgs,
      ...(inputs.target ? { target: inputs.target } : {}),
      labels: inputs.labels,
      secrets: secretsOf(inputs.secrets),
      namedContexts,
      ...(req.options.noCache ? { noCache: true } : {}),
      cacheFrom: inputs.cacheFrom.map((c) => ({ type: c.type, attrs: { ...c.attrs } })),
      cacheTo: inputs.cacheTo.map((c) => ({ type: c.type, attrs: { ...c.attrs } })),
      output: { type: "oci", store: req.store },
      ...(req.credentials ? { credentials: req.credentials } : {}),
      progress: { ...sink, close: async () => {} },
      signal,
    });
    const oci = result.oci!;
    const results = await Promise.all(
      req.platforms.map((p) => platformResult(req.store, oci.images, p.platform, where)),
    );
    let contextFiles = 0;
    let contextBytes = 0;
    for (const c of result.sync.values()) {
      contextFiles += c.files;
      contextBytes += c.bytes;
    }
    // What the daemon sent grew this store as much as layers fetched from a node (the build then collects).
    const layers = results.flatMap((x) => x.baseLayers);
    return {
      results,
      summary: req.platforms.map((p) => {
        const platform = formatPlatform(p.platform);
        const c = counts.get(platform);
        // The daemon does not say how long emulated steps took: its workers run QEMU unseen.
        return {
          platform,
          durationMs: Date.now() - started,
          steps: c?.steps.size ?? 0,
          cached: c?.cached.size ?? 0,
          emulatedMs: 0,
        };
      }),
      transfer: {
        contextFiles,
        contextBytes,
        resultBlobs: layers.length,
        resultBytes: layers.reduce((n, l) => n + l.descriptor.size, 0),
      },
    };
  } catch (e) {
    const out = named(node, e);
    // The daemon names the Dockerfile by the path we sent; the user knows it by the name they gave.
    if (out instanceof UserError && out.location && out.location.file === inputs.dockerfile.path)
      throw new UserError(out.message, {
        ...(out.hint ? { hint: out.hint } : {}),
        location: { ...out.location, file: inputs.dockerfile.displayName },
        cause: out,
      });
    throw out;
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

export const remoteDriver: NodeDriver = {
  name: "remote",
  readsRegistryCache: true,
  endpoint(given) {
    if (given === undefined) {
      throw new UserError("the remote driver needs the BuildKit daemon's address", {
        hint: "e.g. `polyarch create --driver remote tcp://buildkitd:1234` or unix:///run/buildkit/buildkitd.sock",
      });
    }
    return formatBuildKitAddress(parseBuildKitAddress(given));
  },
  async driverOpts(given, cwd) {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(given)) {
      if (!(PATH_OPTS as readonly string[]).includes(k) && k !== "servername") {
        throw new UserError(`the remote driver has no option ${JSON.stringify(k)}`, {
          hint: "it takes cacert=, cert=, key= and servername= (buildx's names)",
        });
      }
      if (k === "servername") {
        out[k] = v;
        continue;
      }
      // Resolved now: a build runs from any directory; checked now: a typo fails here, not in a build.
      const path = resolve(cwd, v);
      try {
        await access(path, constants.R_OK);
      } catch {
        throw new UserError(`--driver-opt ${k}=${v}: cannot read ${path}`, {
          hint: "give the path of a readable PEM file (buildx's cacert=, cert=, key=)",
        });
      }
      out[k] = path;
    }
    if ((out.cert === undefined) !== (out.key === undefined)) {
      throw new UserError("--driver-opt cert= and key= go together", {
        hint: "give both the client certificate and its key for mutual TLS, or neither",
      });
    }
    return out;
  },
  async probe(node, options): Promise<NodeStatus> {
    try {
      const info = await inspectBuildKitNode(endpointOf(node), { timeoutMs: 20_000 });
      options.signal.throwIfAborted();
      return { ok: true, info: nodeInfoOf(info) };
    } catch (e) {
      const n = named(node, e);
      if (n instanceof UserError) return { ok: false, error: n.message, ...(n.hint ? { hint: n.hint } : {}) };
      throw e;
    }
  },
  async connect(node, options) {
    const endpoint = endpointOf(node);
    let info: BuildKitNodeInfo;
    try {
      info = await inspectBuildKitNode(endpoint, { timeoutMs: 20_000 });
    } catch (e) {
      throw named(node, e);
    }
    return {
      info: nodeInfoOf(info),
      solve: (req) => solveOnDaemon(node, endpoint, req, options.signal),
      exportsCache: true,
      close: async () => {},
    };
  },
};

registerNodeDriver(remoteDriver);
