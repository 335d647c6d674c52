/**
 * The build definition: a graph of operations, each vertex named by the digest of its definition and its
 * inputs' digests. The graph is a plain JSON value (no classes, no closures) so that it can be shipped to
 * another machine's worker; `graphToJson`/`graphFromJson` round-trip it and re-verify every digest.
 *
 * Every vertex has exactly one output (a filesystem tree). Ops refer to their inputs by index into the
 * vertex's `inputs` array, so the op itself never embeds a digest of another vertex: identical work on
 * identical inputs gets one digest, whichever stage or platform asked for it.
 *
 * Stability: the solver, the worker and the remote driver code against these types; changes are additive.
 */
import type { Digest } from "../oci/digest.ts";
import type { Platform } from "../oci/platform.ts";

/** The format version written into serialised graphs. */
export const GRAPH_VERSION = 1;

// ---------------------------------------------------------------------------------------------------------
// Sources

/** A registry image for one platform. `digest` pins `ref` (index or manifest digest) when it was resolved. */
export interface ImageSource {
  type: "image";
  /** Normalised reference, e.g. `docker.io/library/alpine:3.20` (never with the digest appended). */
  ref: string;
  digest?: Digest;
  platform: Platform;
}

/**
 * Files from a local directory the client provides (the main build context is named `context`; a named
 * context `--build-context NAME=DIR` is named NAME). The selection is the context minus `excludePatterns`
 * (Docker's .dockerignore syntax), narrowed to `includePatterns` and to `followPaths` when given.
 */
export interface LocalSource {
  type: "local";
  name: string;
  includePatterns?: string[];
  excludePatterns?: string[];
  /** Paths (relative to the context root, may hold wildcards) this vertex needs; absent means all. */
  followPaths?: string[];
}

/** The empty filesystem. */
export interface ScratchSource {
  type: "scratch";
}

/** One file downloaded from a URL, stored as `filename` at the root of the output. */
export interface HttpSource {
  type: "http";
  url: string;
  filename: string;
  /** When set, the download must have this digest. */
  checksum?: Digest;
}

/** A git repository checkout (ADD of a git URL). */
export interface GitSource {
  type: "git";
  remote: string;
  /** Branch, tag or commit; empty means the default branch. */
  ref: string;
  subdir?: string;
  keepGitDir: boolean;
  checksum?: string;
  /** false: leave submodules out (a URL's `?submodules=false`); absent means they are checked out. */
  submodules?: false;
}

export type Source = ImageSource | LocalSource | ScratchSource | HttpSource | GitSource;

export interface SourceOp {
  kind: "source";
  source: Source;
}

// ---------------------------------------------------------------------------------------------------------
// Exec

/** A read-only or read-write view of one of the vertex's inputs at `target`. */
export interface BindMount {
  type: "bind";
  target: string;
  /** Index into the vertex's inputs. */
  input: number;
  /** Path inside the input that is mounted ("/" for all of it). */
  source: string;
  readonly: boolean;
}

/**
 * A persistent directory kept between builds, shared by `id` among the steps of one execution platform
 * (an arm64 step never sees what an amd64 step left), or by every platform with `acrossPlatforms`.
 */
export interface CacheMount {
  type: "cache";
  target: string;
  id: string;
  sharing: "shared" | "private" | "locked";
  /** One directory for every platform: the Dockerfile named an `id` and said `sharing=shared`. */
  acrossPlatforms?: true;
  readonly: boolean;
  /** Optional initial content: index into the vertex's inputs, and the path inside it. */
  input?: number;
  source: string;
  /** Mode and ownership of the cache directory when it is created. */
  mode: number;
  uid: number;
  gid: number;
}

export interface TmpfsMount {
  type: "tmpfs";
  target: string;
  /** Size limit in bytes; absent means the kernel's default. */
  size?: number;
}

/** A secret the client provides, as a file at `target` and/or an environment variable `env`. */
export interface SecretMount {
  type: "secret";
  id: string;
  target?: string;
  env?: string;
  required: boolean;
  mode: number;
  uid: number;
  gid: number;
}

/** A forwarded SSH agent socket at `target`. */
export interface SshMount {
  type: "ssh";
  id: string;
  target: string;
  required: boolean;
  mode: number;
  uid: number;
  gid: number;
}

export type ExecMount = BindMount | CacheMount | TmpfsMount | SecretMount | SshMount;

/**
 * Runs a process. Input 0 is the root filesystem, mounted writable at `/`; the vertex's output is that
 * filesystem after the process exits. Other mounts never contribute to the output.
 */
export interface ExecOp {
  kind: "exec";
  args: string[];
  /** `KEY=value` in order (may be a frozen array shared by several ops). */
  env: readonly string[];
  cwd: string;
  /** `user`, `uid`, `user:group` or `uid:gid`, resolved by the worker in the rootfs; "" means root. */
  user: string;
  mounts: ExecMount[];
  network: "default" | "none" | "host";
  security: "sandbox" | "insecure";
  /** The platform the process runs as (an emulator is needed when it is not the worker's own). */
  platform: Platform;
  /** Extra /etc/hosts entries (the build's `--add-host`), in order. */
  extraHosts?: ExtraHost[];
  /** Resource limits (the build's `--ulimit`); others keep the worker's defaults. */
  ulimits?: Ulimit[];
  /** Size of /dev/shm in bytes (the build's `--shm-size`); default 64 MiB, as BuildKit's. */
  shmSizeBytes?: number;
}

/** One /etc/hosts line a step sees: `ip<TAB>host`. */
export interface ExtraHost {
  host: string;
  ip: string;
}

/** A resource limit: `name` is Docker's (`nofile`, `nproc`, `core`…), soft ≤ hard. */
export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

/** What a build sets on every RUN step (buildx's --add-host, --ulimit, --shm-size), part of each key. */
export type RunStepOptions = Pick<ExecOp, "extraHosts" | "ulimits" | "shmSizeBytes">;

// ---------------------------------------------------------------------------------------------------------
// File

/** Owner of created files: a user and optional group, by name or number, resolved in the destination. */
export interface FileOwner {
  user: string;
  group?: string;
}

export interface CopyAction {
  action: "copy";
  /** Index into the vertex's inputs that files are copied from. */
  input: number;
  /** Absolute path (or wildcard pattern) inside the source input. */
  src: string;
  /** Absolute path in the destination; a trailing "/" means "into this directory". */
  dest: string;
  owner?: FileOwner;
  /** Octal mode as a number, or a symbolic mode such as `u+x` (COPY --chmod). */
  mode?: number | string;
  followSymlinks: boolean;
  /** When `src` is a directory, copy its contents rather than the directory itself. */
  copyDirContents: boolean;
  createDestPath: boolean;
  allowWildcard: boolean;
  allowEmptyWildcard: boolean;
  /** ADD: extract a local tar archive instead of copying it. */
  attemptUnpack: boolean;
  includePatterns?: string[];
  excludePatterns?: string[];
  /** Paths that must exist in the source (COPY --parents without wildcards). */
  requiredPaths?: string[];
}

export interface MkdirAction {
  action: "mkdir";
  path: string;
  mode: number;
  makeParents: boolean;
  owner?: FileOwner;
}

export interface MkfileAction {
  action: "mkfile";
  path: string;
  mode: number;
  /** UTF-8 text content (here-documents). */
  data: string;
  owner?: FileOwner;
}

export interface RmAction {
  action: "rm";
  path: string;
  allowNotFound: boolean;
  allowWildcard: boolean;
}

export type FileAction = CopyAction | MkdirAction | MkfileAction | RmAction;

/**
 * File operations applied in order to input 0 (the destination tree); copy actions read from other inputs.
 * The output is the destination after the last action. File ops never execute anything, so they carry no
 * platform and are shared across platforms whenever their inputs are.
 */
export interface FileOp {
  kind: "file";
  actions: FileAction[];
}

/** Layers the inputs on top of each other, first at the bottom (COPY --link). */
export interface MergeOp {
  kind: "merge";
}

/** The changes that turn input 0 (lower) into input 1 (upper), as a tree of their own. */
export interface DiffOp {
  kind: "diff";
}

export type Op = SourceOp | ExecOp | FileOp | MergeOp | DiffOp;

// ---------------------------------------------------------------------------------------------------------
// Vertices and the graph

/** Where a vertex came from, for progress display and errors. Not part of the digest. */
export interface VertexMeta {
  /** Display name as BuildKit prints it, e.g. `[linux/amd64 builder 3/5] RUN make`. */
  name?: string;
  /** Dockerfile location of the instruction that made it. */
  location?: { file: string; line: number; column: number };
  /** Stage name (or `stage-N`) that made it. */
  stage?: string;
}

export interface Vertex {
  op: Op;
  inputs: Digest[];
  meta?: VertexMeta;
}

/** A build graph: vertices by digest. Outputs are named by whoever made the graph (see BuildPlan). */
export interface BuildGraph {
  version: typeof GRAPH_VERSION;
  vertices: Record<string, Vertex>;
}
