/**
 * The solver's API: what a build asks it to produce, what the caller plugs in (images, local contexts,
 * secrets), and what it hands back (per platform, the layers the exporter assembles into an image).
 *
 * The solver knows the build graph, never the Dockerfile: everything Dockerfile-specific (which files a
 * local source selects, how base images are named) comes in through the functions below.
 */
import type { ContentStore } from "../content/types.ts";
import type { BuildGraph, LocalSource } from "../graph/types.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import type { Digest } from "../oci/digest.ts";
import type { ImageConfig } from "../oci/image-config.ts";
import type { Platform } from "../oci/platform.ts";
import type { ProgressSink } from "../progress/events.ts";
import type { ContainerRun, SnapshotView, Worker } from "../worker/worker.ts";
import type { ChainEntry, ImportedCache, PlatformCache } from "./cache-layout.ts";
import type { ImageResolver } from "./image-resolver.ts";

/** One target platform's outputs, as the planner's PlatformPlan gives them. */
export interface SolvePlatform {
  platform: Platform;
  /** The root filesystem's vertex. */
  output: Digest;
  /** Vertices that each add one layer, in order (the layer is the vertex's own change). */
  layerVertices: readonly Digest[];
  /** The vertex the first new layer applies to. */
  baseVertex: Digest;
  /** The base image when the image starts from one (its layers become the image's first layers). */
  baseImage: { ref: string; digest: Digest | undefined } | undefined;
}

export interface SolveRequest {
  graph: BuildGraph;
  platforms: readonly SolvePlatform[];
  /**
   * The platforms' result trees will be read (type=local, type=tar): their chains are made available too,
   * not only their layers. Without it a cached build needs no more than each layer's cache record.
   */
  trees?: boolean;
  /** Environment added to every RUN without being part of any cache key (proxy build args). */
  proxyEnv?: Readonly<Record<string, string>>;
}

/** One file of a local source, described by what a copy depends on (the frontend's ContextEntry fits). */
export interface LocalFile {
  /** Slash-separated, relative to the root, never `..`. */
  path: string;
  type: "file" | "dir" | "symlink" | "other";
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkTarget?: string;
  /** The listing's stat, when it has one: a file whose stat matches the stat index is not read again. */
  mtimeMs?: number;
  ctimeMs?: number;
  dev?: number;
  ino?: number;
}

/** The files a local source selects, read from `root`. */
export interface LocalSelection {
  root: string;
  files: readonly LocalFile[];
}

/** Maps a graph `local` source to its files (the frontend applies .dockerignore and the step's patterns). */
export type LocalContextProvider = (source: LocalSource) => Promise<LocalSelection>;

/** The value of a `RUN --mount=type=secret` by id, or undefined when the client has none. */
export type SecretProvider = (id: string) => Promise<Buffer | undefined>;

/** The ssh agents the client forwards (`--ssh ID[=…]`), by id: what `RUN --mount=type=ssh` relays to. */
export interface SshAgentProvider {
  /** Whether the client forwards an agent under this id (asks nothing of it). */
  has(id: string): boolean;
  /** The host path of a socket speaking the agent protocol for `id`; undefined when none is forwarded. */
  socket(id: string): Promise<string | undefined>;
}

export interface SolverOptions {
  /** polyarch's state directory; the solver keeps its cache index and locks under `solver/`. */
  stateRoot: string;
  /** Runs the ops (the local runc/overlay worker, or another): the solver constructs none. */
  worker: Worker;
  store: ContentStore;
  progress: ProgressSink;
  images: ImageResolver;
  localContexts: LocalContextProvider;
  secrets?: SecretProvider;
  sshAgents?: SshAgentProvider;
  /** How long a `sharing=locked` cache mount waits for another step; default 10 minutes. */
  cacheLockTimeoutMs?: number;
  /** Ignore the cache for every vertex (`--no-cache`). */
  noCache?: boolean;
  /** Ignore the cache for the vertices of these stages (`--no-cache-filter`). */
  noCacheFilter?: readonly string[];
  signal?: AbortSignal;
  /** RUN steps at once; default twice the cores (steps wait on I/O and on QEMU's single thread). */
  execConcurrency?: number;
  /** Watchdog for each RUN step (emulated ones can hang, see the guide). */
  execTimeoutMs?: number;
  /** Entitlements the build grants (buildx's --allow): `security.insecure` lets RUN --security=insecure run. */
  allow?: readonly string[];
  /** SOURCE_DATE_EPOCH with rewrite-timestamp: new layers' file times are clamped to it. */
  clampMtime?: number;
  /**
   * Bound on waiting for another process that works on the same step (default: POLYARCH_LOCK_TIMEOUT
   * seconds, else 30 minutes).
   */
  lockTimeoutMs?: number;
  /** Caches given with --cache-from: their records are hits as the local index's are. */
  cacheFrom?: readonly ImportedCache[];
  /**
   * When given, a layer hit's blob in a remote imported cache (a registry) is not copied into the store:
   * it is handed here (after a HEAD says it is there), and whoever reads it fetches it then, so a push to
   * the same registry can HEAD or mount it instead of downloading it.
   */
  deferImportedBlobs?: DeferredBlobs;
}

/** Where imported blobs that were left in their cache wait to be read (see deferImportedBlobs). */
export interface DeferredBlobs {
  defer(descriptor: Descriptor, cache: ImportedCache): void;
}

/** A layer in the store, as a manifest lists it, with the diff_id its config lists. */
export interface StoredLayer {
  descriptor: Descriptor;
  diffId: Digest;
}

/** A layer vertex's result: its layer (null when the step changed nothing) and when it was made. */
export interface SolvedLayer {
  layer: StoredLayer | null;
  /** ISO 8601; the same on every cached rebuild. */
  created: string | undefined;
}

/** One platform's layers as its image lists them: base image layers, then one entry per layer vertex. */
export interface SolvedPlatform {
  platform: Platform;
  baseLayers: StoredLayer[];
  layers: SolvedLayer[];
  /**
   * Set when a node ran its own frontend (a BuildKit daemon): the image config it made, whose layers are
   * all of `baseLayers` (and `layers` is empty); the image is taken as it is instead of from our plan.
   */
  image?: ImageConfig;
}

/**
 * A handle on one platform's result (BuildKit's ImmutableRef): the worker's snapshot chain of its root
 * filesystem, from which whoever needs them takes what they need: the image exporter its layer blobs, the
 * local and tar exporters its files, a cache exporter or an SBOM scan theirs.
 */
export interface ResultRef {
  platform: Platform;
  /**
   * The layer blobs of the result in the content store, made when missing. "gzip" is what the solver
   * makes and caches; the image exporter converts to what an output asks for (oci/convert-layer).
   */
  layers(compression: "gzip"): Promise<SolvedPlatform>;
  /**
   * The result's files as one read-only tree (the solve must have been asked for `trees`); release it
   * when done. Never write through it: it shares the cached snapshots' files.
   */
  tree(): Promise<SnapshotView>;
  /** The result's layers as cache records (what --cache-to mode=min exports): layer cache key -> layer. */
  cache(): PlatformCache;
  /**
   * mode=max: every exec and file step this platform's result depends on, as the layers of its result's
   * tree (exported into the store when not there yet). Steps whose result is not on this machine (a layer
   * hit never needed it) are left out.
   */
  cacheChains(): Promise<ChainEntry[]>;
  /**
   * Runs a container of the result (`build --test`, `polyarch run`; the solve must have been asked for
   * `trees`): a throwaway snapshot over its chain, removed afterwards. Resolves the process's exit code.
   */
  run(run: Omit<ContainerRun, "base" | "platform">): Promise<{ exitCode: number }>;
}

export interface SolveResult {
  /** One per requested platform, in request order. */
  refs: ResultRef[];
  /** Vertices that ran and that came from the cache (for tests and the summary). */
  ran: Digest[];
  cached: Digest[];
}
