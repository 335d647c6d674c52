/**
 * `build()`: the library entry of an image build. It ties the parts together — the frontend reads the
 * Dockerfile and plans one graph for every platform (resolving base images through the store, or the
 * registry when needed), the solver runs what the cache does not have, and the exporter writes the
 * outputs — and reports progress through the given sink, ending with a `build.done` event.
 *
 * The caller owns the sink (and closes it). An AbortSignal stops the build: running steps are killed,
 * snapshots unmounted, and whatever finished stays in the cache for the next build.
 */

import { basename, join } from "node:path";
import type { Readable } from "node:stream";
import type { AttestationRequest } from "../attest/index.ts";
import type { MetadataProvenanceMode } from "../attest/metadata-provenance.ts";
import { openContentStore } from "../content/local-store.ts";
import { defaultStateDir } from "../content/paths.ts";
import { prepareStateRoot } from "../content/state-root.ts";
import { resolveBuildInputs } from "../dockerfile/context/build-inputs.ts";
import type { NamedContext } from "../dockerfile/context/named-contexts.ts";
import { parseDockerfile, syntaxOverride } from "../dockerfile/parse/index.ts";
import { planBuild } from "../dockerfile/plan/plan-build.ts";
import type { ImageMetadataResolver } from "../dockerfile/plan/types.ts";
import { type ErrorLocation, UserError } from "../errors/user-error.ts";
import type { OutputSpec } from "../exporter/output-spec.ts";
import type { RunStepOptions } from "../graph/types.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { formatPlatform, hostPlatform, type Platform, samePlatform } from "../oci/platform.ts";
import type { PlatformSummary, ProgressSink } from "../progress/events.ts";
import { DockerConfigCredentials } from "../registry/credentials.ts";
import type { RegistryOptions } from "../registry/registry-options.ts";
import { inlineCacheField, inlineCacheRecords } from "../solver/cache-layout.ts";
import { ImageResolver } from "../solver/image-resolver.ts";
import type { Solver } from "../solver/solver.ts";
import type { ResultRef } from "../solver/types.ts";
import type { Worker } from "../worker/worker.ts";
import { builtImage } from "./build/built-image.ts";
import type { CacheBackendContext } from "./build/cache-backends.ts";
import { type CacheExport, type CacheImport, exportCaches, importCaches } from "./build/cache-transfer.ts";
import { DeferredBlobStore } from "./build/deferred-blobs.ts";
import { frontendInputs } from "./build/frontend-inputs.ts";
import { lintForBuild, warnPlatformMismatches } from "./build/lint-warnings.ts";
import { localContextProvider } from "./build/local-contexts.ts";
import {
  type FetchProgress,
  type PreparedContexts,
  planNamedContexts,
  prepareContexts,
} from "./build/remote-contexts.ts";
import { secretProvider } from "./build/secrets.ts";
import { type SshAgents, type SshForward, sshAgents } from "./build/ssh-agents.ts";
import type { BuilderRecord } from "./builders/builder-record.ts";
import { polyarchVersion } from "./builders/polyarch-version.ts";
import { collectAfterBuild } from "./store-gc.ts";

export type { NamedContext } from "../dockerfile/context/named-contexts.ts";
export type { SshForward } from "./build/ssh-agents.ts";

export interface BuildOptions {
  /**
   * The context directory, or a remote context (a git URL `https://host/repo.git#ref:subdir`, `git@…`,
   * `ssh://…`, or an http(s) URL of a tarball, whose `dockerfile` is then a path inside it); "-" means no
   * context (the Dockerfile then comes from dockerfileText).
   */
  context: string;
  /** Path of the Dockerfile, relative to the working directory; default <context>/Dockerfile. */
  dockerfile?: string;
  /** The Dockerfile's text (for `-f -`, stdin). */
  dockerfileText?: string;
  /** Default: this machine's platform. */
  platforms?: Platform[];
  target?: string;
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  namedContexts?: NamedContext[];
  /** `--secret id=x,src=path` (file) or `env=VAR`. */
  secrets?: Record<string, { file?: string; env?: string }>;
  /** `--ssh ID[=SOCKET|KEY_FILE,…]`: agents RUN --mount=type=ssh steps reach; no path means $SSH_AUTH_SOCK. */
  ssh?: SshForward[];
  /** How long a `sharing=locked` cache mount waits for another step before failing; default 10 minutes. */
  cacheLockTimeoutMs?: number;
  noCache?: boolean;
  noCacheFilter?: string[];
  /** `--cache-from type=local,src=DIR`, `type=registry,ref=R`: caches whose records are hits as this state dir's are. */
  cacheFrom?: CacheImport[];
  /** `--cache-to type=local|registry|inline,…`: where this build's cache records and blobs are written. */
  cacheTo?: CacheExport[];
  /** Ask the registry for base images even when a resolution is stored. */
  pull?: boolean;
  outputs: OutputSpec[];
  progress: ProgressSink;
  /** Default: defaultStateDir() ($POLYARCH_ROOT, XDG, ~/.local/share/polyarch). */
  stateRoot?: string;
  registry?: RegistryOptions;
  /** SOURCE_DATE_EPOCH (seconds): created times of the config and history; see the exporter. */
  sourceDateEpoch?: number;
  signal?: AbortSignal;
  /** Watchdog for each RUN step, in ms (emulated steps can hang on old QEMU). Default: none. */
  execTimeoutMs?: number;
  /** RUN steps at once; default twice the cores. */
  execConcurrency?: number;
  /** Where binfmt_misc is read (tests point it at an empty directory). */
  binfmtDir?: string;
  /** "auto" (default): overlay where it works, else copies. */
  snapshotter?: "auto" | "overlay" | "copy";
  /** Working directory that relative paths are read from; default process.cwd(). */
  cwd?: string;
  /** Where `dest=-` outputs write; default process.stdout. */
  stdout?: import("node:stream").Writable;
  /**
   * Entitlements (buildx's --allow): "security.insecure" lets RUN --security=insecure steps run,
   * "network.host" lets RUN --network=host steps run.
   */
  allow?: string[];
  /** What every RUN step gets: extra /etc/hosts entries, resource limits, the size of /dev/shm. */
  stepOptions?: RunStepOptions;
  /** Make an index even for one platform. */
  multiPlatform?: boolean;
  /**
   * A shell command (`/bin/sh -c`) run in every platform's built image before any output: the build fails,
   * naming the platform, unless it exits 0 on every one (`--test`).
   */
  test?: string;
  /**
   * Provenance and SBOM attestations (parseAttestFlags gives buildx's defaults: min provenance for image
   * outputs). Default: none.
   */
  attestations?: AttestationRequest;
  /**
   * Put the build's provenance in the result's metadata as buildx's `buildx.build.provenance` (per
   * platform for several), in this mode (buildx: BUILDX_METADATA_PROVENANCE); default none.
   */
  metadataProvenance?: MetadataProvenanceMode;
  /**
   * Runs the build's ops (the worker seam, worker/worker.ts); default the local runc/overlay worker on
   * the state root (then binfmtDir and snapshotter configure it).
   */
  worker?: Worker;
  /**
   * The builder whose nodes build the platforms (`--builder`; see builders/farm-solve.ts); default this
   * machine alone.
   */
  builder?: BuilderRecord;
  /** When a node of the builder is down or fails, build its platforms on another node. */
  allowFallback?: boolean;
}

export interface BuildResult {
  descriptor: Descriptor;
  metadata: Record<string, unknown>;
}

export async function build(options: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const stateRoot = options.stateRoot ?? defaultStateDir();
  const progress = options.progress;
  const emit = (event: Parameters<ProgressSink["emit"]>[0]) => {
    try {
      progress.emit(event);
    } catch {
      // A sink must not throw; the build goes on without its display.
    }
  };
  let solver: Solver | undefined;
  let agents: SshAgents | undefined;
  let failure: unknown;
  let lines: readonly string[] = [];
  let contexts: PreparedContexts | undefined;
  let remoteSummaries: PlatformSummary[] = [];
  let cacheReads: Promise<unknown> | undefined;
  await prepareStateRoot(stateRoot);
  const resolver = new ImageResolver({
    store: await openContentStore(join(stateRoot, "content")),
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.pull ? { pull: true } : {}),
  });
  try {
    options.signal?.throwIfAborted();
    contexts = await prepareContexts(options.context, options.namedContexts ?? [], stateRoot, {
      ...(options.signal ? { signal: options.signal } : {}),
      progress: fetchProgress(emit),
    });
    for (const layout of contexts.layouts) resolver.serve(layout.ref, layout.root);
    const dockerfileCwd = contexts.dockerfileCwd ?? options.cwd;
    const inputs = await resolveBuildInputs({
      context: contexts.context,
      ...(options.dockerfileText !== undefined
        ? { file: "-", readStdin: async () => options.dockerfileText! }
        : options.dockerfile !== undefined
          ? { file: options.dockerfile }
          : {}),
      ...(dockerfileCwd ? { cwd: dockerfileCwd } : {}),
    });
    const buildArgs = options.buildArgs ?? {};
    const ast = parseDockerfile(inputs.dockerfile.text, {
      file: inputs.dockerfile.displayName,
      ...syntaxOverride(buildArgs),
    });
    lines = ast.lines;
    const named = contexts.named;
    const planContexts = await planNamedContexts(named);
    const platforms = options.platforms?.length ? options.platforms : [hostPlatform()];
    lintForBuild(
      ast,
      {
        buildArgs,
        platform: platforms[0]!,
        buildPlatform: hostPlatform(),
        ...(options.target ? { target: options.target } : {}),
        ...(contexts.mainIsRemote ? {} : { contextIgnores: inputs.ignore.ignores }),
      },
      emit,
    );
    const warn = (message: string) => emit({ type: "warning", message, at: Date.now() });
    const cacheContext: CacheBackendContext = {
      cwd: options.cwd ?? process.cwd(),
      // The resolver's clients: base images and caches often live on one registry (one probe, one ping).
      registry: () => resolver.registryClients(),
    };
    // The caches' indexes and configs are fetched while the plan resolves base images (both are round
    // trips); a failure is reported when the solve needs them, after the plan's own errors.
    // A BuildKit node reads a registry cache in its own format: this machine's read of it may then fail
    // without failing the build (the node still gets the entry).
    const nodesReadCache =
      options.builder !== undefined &&
      options.builder.name !== "default" &&
      (await import("./builders/node-probe.ts")).nodesReadRegistryCache(options.builder);
    const cacheFromRead = nodesReadCache
      ? importCaches(
          (options.cacheFrom ?? []).map((c) => (c.type === "registry" ? { ...c, ignoreError: true } : c)),
          cacheContext,
          (m) => warn(`${m} (on this machine; the builder's BuildKit nodes read it themselves)`),
        )
      : importCaches(options.cacheFrom ?? [], cacheContext, warn);
    cacheReads = cacheFromRead.catch(() => {});
    const plan = await planBuild(ast, {
      platforms,
      buildPlatform: hostPlatform(),
      ...(options.target ? { target: options.target } : {}),
      buildArgs,
      ...(options.labels ? { labels: options.labels } : {}),
      namedContexts: planContexts,
      contextExcludePatterns: contexts.mainIsRemote ? [] : inputs.ignore.patterns,
      resolver: metadataProgress(resolver, emit),
      ...(options.stepOptions ? { stepOptions: options.stepOptions } : {}),
    });
    warnPlatformMismatches(ast, buildArgs, plan.platforms, emit);
    emit({
      type: "build.start",
      platforms: plan.platforms.map((p) => formatPlatform(p.platform)),
      at: Date.now(),
    });

    const [{ Solver }, { LocalWorker }] = await Promise.all([
      import("../solver/solver.ts"),
      import("../worker/local/local-worker.ts"),
    ]);
    const worker =
      options.worker ??
      new LocalWorker({
        stateRoot,
        ...(options.binfmtDir !== undefined ? { binfmtDir: options.binfmtDir } : {}),
        ...(options.snapshotter !== undefined ? { snapshotter: options.snapshotter } : {}),
      });
    agents = sshAgents(options.ssh ?? []);
    const cacheFrom = await cacheFromRead;
    const { exportImages, outputsReadTrees } = await import("../exporter/export.ts");
    const trees =
      outputsReadTrees(options.outputs) || options.test !== undefined || Boolean(options.attestations?.sbom);
    // Only pushes leave imported layers in their registry: every other output reads each layer anyway.
    const deferred =
      !trees && options.outputs.length > 0 && options.outputs.every((o) => o.type === "image" && o.push)
        ? new DeferredBlobStore(resolverStore(resolver))
        : undefined;
    const store = deferred ? deferred.store() : resolverStore(resolver);
    solver = new Solver({
      stateRoot,
      ...(cacheFrom.length ? { cacheFrom } : {}),
      ...(deferred ? { deferImportedBlobs: deferred } : {}),
      worker,
      store: resolverStore(resolver),
      progress,
      images: resolver,
      localContexts: localContextProvider(inputs.contextDir, named),
      secrets: secretProvider(options.secrets),
      sshAgents: agents,
      ...(options.cacheLockTimeoutMs !== undefined ? { cacheLockTimeoutMs: options.cacheLockTimeoutMs } : {}),
      ...(options.noCache ? { noCache: true } : {}),
      ...(options.noCacheFilter ? { noCacheFilter: options.noCacheFilter } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.execTimeoutMs !== undefined ? { execTimeoutMs: options.execTimeoutMs } : {}),
      ...(options.execConcurrency !== undefined ? { execConcurrency: options.execConcurrency } : {}),
      ...(options.allow ? { allow: options.allow } : {}),
    });
    const request = {
      graph: plan.graph,
      platforms: plan.platforms,
      proxyEnv: plan.proxyEnv,
      ...(trees ? { trees: true } : {}),
    };
    const local = solver;
    let localRan = 0;
    const farm =
      options.builder && options.builder.name !== "default"
        ? await (await import("./builders/farm-solve.ts")).solveOnBuilder({
            builder: options.builder,
            version: polyarchVersion,
            graph: plan.graph,
            platforms: plan.platforms,
            proxyEnv: plan.proxyEnv,
            allowFallback: options.allowFallback ?? false,
            needsLocalRefs:
              options.test !== undefined
                ? "--test"
                : options.cacheTo?.length
                  ? "--cache-to"
                  : options.attestations?.sbom
                    ? "--sbom"
                    : undefined,
            local: async (subset) => {
              const r = await local.solve({ ...request, platforms: subset });
              localRan += r.ran.length;
              return r.refs;
            },
            localContexts: localContextProvider(inputs.contextDir, named),
            secrets: secretProvider(options.secrets),
            frontend: frontendInputs(options, inputs, buildArgs),
            nodeCacheTo: (options.cacheTo ?? []).every((c) => c.type === "registry"),
            credentials: options.registry?.credentials ?? new DockerConfigCredentials(),
            store: resolverStore(resolver),
            emit,
            signal: options.signal ?? new AbortController().signal,
            options: {
              ...(options.noCache ? { noCache: true } : {}),
              ...(options.noCacheFilter ? { noCacheFilter: options.noCacheFilter } : {}),
              ...(options.allow ? { allow: options.allow } : {}),
              ...(options.execTimeoutMs !== undefined ? { execTimeoutMs: options.execTimeoutMs } : {}),
              ...(options.pull ? { pull: true } : {}),
              ...(options.registry?.insecureRegistries
                ? { insecureRegistries: options.registry.insecureRegistries }
                : {}),
            },
          })
        : undefined;
    remoteSummaries = farm?.summaries ?? [];
    let solved: { refs: readonly ResultRef[] };
    if (farm) solved = farm;
    else {
      const r = await solver.solve(request);
      localRan = r.ran.length;
      solved = r;
    }

    const inlineCache = (options.cacheTo ?? []).some((c) => c.type === "inline");
    const images = await Promise.all(
      plan.platforms.map(async (p, i) => {
        const ref = solved.refs[i]!;
        const base = p.baseImage?.digest
          ? await resolver.image(p.baseImage.ref, p.baseImage.digest, p.platform)
          : undefined;
        const image = builtImage(
          p,
          await ref.layers("gzip"),
          // Without a base image (scratch) every history entry is this build's.
          base
            ? { historyLength: base.config.history?.length ?? 0, created: base.config.created }
            : { historyLength: 0, created: undefined },
        );
        if (trees && !farm?.remote.has(i)) image.tree = () => ref.tree();
        // A base image's inline cache is never inherited; this image's is written only when asked for.
        delete image.config[inlineCacheField];
        if (inlineCache) image.config[inlineCacheField] = inlineCacheRecords(ref.cache().entries);
        return image;
      }),
    );

    if (options.test !== undefined) {
      const { testImages } = await import("./build/image-tests.ts");
      await testImages({
        command: options.test,
        refs: solved.refs,
        configs: images.map((image) => image.config),
        progress: solver.progress,
        signal: options.signal ?? new AbortController().signal,
        ...(options.execTimeoutMs !== undefined ? { timeoutMs: options.execTimeoutMs } : {}),
      });
    }
    options.signal?.throwIfAborted();
    const epoch = options.sourceDateEpoch ?? epochFromBuildArgs(buildArgs);
    // Only a push needs the HTTP client: a build written to a file never loads it.
    const pushes = options.outputs.some((o) => o.type === "image" && o.push);
    const registryClients =
      options.registry && pushes
        ? new (await import("../registry/registry-clients.ts")).RegistryClients(options.registry)
        : undefined;
    const tracker = solver.progress;
    const attesting = options.attestations?.sbom !== undefined;
    if (attesting) tracker.start("attestations", "scanning the result for the SBOM", undefined);
    const provenanceContext = {
      graph: plan.graph,
      platforms: plan.platforms,
      buildArgs,
      target: options.target,
      labels: options.labels ?? {},
      dockerfile: { name: basename(inputs.dockerfile.displayName), text: inputs.dockerfile.text },
      remoteContext: contexts.mainIsRemote ? options.context : undefined,
      startedAt: new Date(started),
      sourceDateEpoch: epoch,
    };
    // The context is scanned where it is on disk: a remote context (git, tarball) is not scanned.
    const scansContext =
      options.attestations?.sbom !== undefined &&
      !contexts.mainIsRemote &&
      (options.attestations.sbom.scanContext === true ||
        (await import("./build/attestations.ts")).dockerfileScansContext(
          ast,
          { index: plan.target, name: plan.stages[plan.target]?.name },
          buildArgs,
        ));
    const attestations = options.attestations
      ? await (await import("./build/attestations.ts")).makeAttestations({
          ...provenanceContext,
          request: options.attestations,
          refs: solved.refs,
          ...(scansContext ? { contextScan: inputs.contextDir } : {}),
          imageName: imageNameOf(options.outputs),
          tool: "polyarch",
        })
      : undefined;
    if (attesting) tracker.done("attestations");
    try {
      const result = await exportImages({
        images,
        outputs: options.outputs,
        store,
        ...(registryClients ? { registry: registryClients } : {}),
        ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
        unpackLayer: unpackInto,
        onProgress: (e) => {
          if (e.status === "start") tracker.start(e.id, e.name, undefined);
          else tracker.done(e.id);
        },
        ...(options.multiPlatform ? { multiPlatform: true } : {}),
        ...(options.stdout ? { stdout: options.stdout } : {}),
        ...(attestations && options.attestations
          ? {
              attestations: {
                style: options.attestations.style,
                implicit: options.attestations.implicit,
                platforms: attestations,
              },
            }
          : {}),
      });
      if (!farm?.cacheExported)
        await exportCaches(options.cacheTo ?? [], solved.refs, store, cacheContext, warn, cacheFrom, () =>
          solver!.archiveCacheMounts(plan.graph, warn),
        );
      await worker.settle();
      // Only a build that made something can have grown the state dir: a cached one stays on its fast path.
      // Layers a node sent grew the store as much as steps run here.
      if (localRan > 0 || (farm?.transfers.some((t) => t.transfer.resultBlobs > 0) ?? false))
        await collectAfterBuild(stateRoot, resolverStore(resolver), worker, warn);
      if (options.metadataProvenance) {
        const { makeMetadataProvenance } = await import("./build/attestations.ts");
        const perPlatform = plan.platforms.length > 1 || options.multiPlatform === true;
        Object.assign(
          result.metadata,
          makeMetadataProvenance(provenanceContext, options.metadataProvenance, perPlatform),
        );
      }
      return result;
    } finally {
      await registryClients?.close();
      // Views of the result (type=local, type=tar) were released; their snapshots' removal finishes here.
      await worker.settle();
    }
  } catch (e) {
    failure =
      options.signal?.aborted && !(e instanceof UserError)
        ? new UserError("the build was canceled", { cause: e })
        : withSourceLine(e, lines);
    throw failure;
  } finally {
    await contexts?.discard();
    await agents?.close();
    // A plan that failed may leave the caches' reads in flight: they end before their clients close.
    await cacheReads;
    await resolver.close();
    emit({
      type: "build.done",
      durationMs: Date.now() - started,
      platforms: [...(solver?.summary() ?? []), ...remoteSummaries],
      ...(failure === undefined
        ? {}
        : { error: failure instanceof Error ? failure.message : String(failure) }),
      at: Date.now(),
    });
  }
}

/** The first name an image output gives, for the SBOM's document name. */
function imageNameOf(outputs: readonly OutputSpec[]): string | undefined {
  for (const o of outputs) if ("image" in o && o.image.names.length) return o.image.names[0];
  return undefined;
}

/** The store the resolver was opened on (one store per build). */
function resolverStore(resolver: ImageResolver) {
  return resolver.store;
}

async function unpackInto(blob: Readable, dir: string): Promise<void> {
  const { applyLayer } = await import("../worker/layer/apply-layer.ts");
  await applyLayer(blob, { root: dir });
}

/** SOURCE_DATE_EPOCH given as a build arg, as BuildKit accepts it. */
function epochFromBuildArgs(args: Readonly<Record<string, string>>): number | undefined {
  const v = args.SOURCE_DATE_EPOCH;
  if (v === undefined || v === "") return undefined;
  if (!/^\d+$/.test(v)) {
    throw new UserError(`invalid SOURCE_DATE_EPOCH ${JSON.stringify(v)}`, {
      hint: "give whole seconds since 1970-01-01 UTC, e.g. $(git log -1 --format=%ct)",
    });
  }
  return Number(v);
}

/** `[internal] load metadata for REF` steps around base image resolutions. */
function metadataProgress(
  resolver: ImageResolver,
  emit: (event: Parameters<ProgressSink["emit"]>[0]) => void,
): ImageMetadataResolver {
  return {
    async resolveImage(ref, platform) {
      const id = `metadata:${ref}|${formatPlatform(platform)}`;
      const start = Date.now();
      emit({
        type: "vertex.start",
        id,
        // As BuildKit: the build machine's own platform is plain `[internal]`, others carry their name.
        name: `[${samePlatform(platform, hostPlatform()) ? "" : `${formatPlatform(platform)} `}internal] load metadata for ${ref}`,
        platform: formatPlatform(platform),
        at: start,
      });
      try {
        const r = await resolver.resolveImage(ref, platform);
        emit({ type: "vertex.done", id, durationMs: Date.now() - start, at: Date.now() });
        return r;
      } catch (e) {
        emit({
          type: "vertex.done",
          id,
          durationMs: Date.now() - start,
          error: e instanceof Error ? e.message : String(e),
          at: Date.now(),
        });
        throw e;
      }
    },
  };
}

/** Each remote context's fetch as a step of the build's progress. */
function fetchProgress(emit: (event: Parameters<ProgressSink["emit"]>[0]) => void): FetchProgress {
  let seq = 0;
  return async (name, work) => {
    const id = `remote-context:${++seq}`;
    const start = Date.now();
    emit({ type: "vertex.start", id, name, at: start });
    try {
      await work();
      emit({ type: "vertex.done", id, durationMs: Date.now() - start, at: Date.now() });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      emit({ type: "vertex.done", id, durationMs: Date.now() - start, error, at: Date.now() });
      throw e;
    }
  };
}

/** A positioned error gets the Dockerfile line it points at, so the CLI can show it with a caret. */
function withSourceLine(e: unknown, lines: readonly string[]): unknown {
  if (!(e instanceof UserError) || !e.location || e.location.source !== undefined) return e;
  const line = lines[e.location.line - 1];
  if (line !== undefined) (e.location as ErrorLocation).source = line;
  return e;
}
