/**
 * The worker seam (BuildKit's worker.Worker): everything the solver is given to run a build graph's ops.
 * The solver holds a Worker and nothing else of worker/: it never constructs a snapshotter, an executor or
 * an emulation detector. The local runc/overlay worker (local/local-worker.ts) is one implementation; a
 * remote node (ssh polyarch, a BuildKit daemon) would be another.
 *
 * Results are snapshots: immutable named directories (overlay upper format) stacked into chains, bottom
 * first. A chain is what a vertex's result is, what a view shows as one tree, and what a layer is
 * exported from. Names are chosen by the caller (content-addressed for shared ones) or by the worker
 * (a step's new top snapshot).
 *
 * This module is the whole of worker/ that the solver may import (scripts/check-layers.mjs checks it):
 * the interface, the plain data it names, and the errors a step's failure is reported with.
 */
import type { Readable } from "node:stream";
import type { BlobIngester } from "../content/types.ts";
import type { ErrorLocation } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import type { Digest } from "../oci/digest.ts";
import type { ContainerConfig } from "../oci/image-config.ts";
import type { Platform } from "../oci/platform.ts";
import type { ContainerCommand, ContainerVolume } from "./container-process.ts";
import type { ExecRequest } from "./executor/exec-request.ts";
import type { FileOp } from "./fileop/types.ts";
import type { AppliedLayer, LowerLink, LowerPaths } from "./layer/apply-layer.ts";

export type { ContainerCommand } from "./container-process.ts";
export { ExecFailedError, ExecTimeoutError } from "./executor/errors.ts";
export type { ExecMount, ExecRequest } from "./executor/exec-request.ts";
// The in-root resolver: paths inside a view (bind-mount sources, a download's file name) are resolved
// by the worker's one resolver, never joined.
export { resolveInRoot } from "./fileop/root-path.ts";
export type { AppliedLayer, LowerLink, LowerPaths } from "./layer/apply-layer.ts";

/** A chain of snapshot names, bottom first. */
export type Chain = readonly string[];

/** A chain's files as one tree at `root`; `release` unmounts and removes what the view needed. */
export interface SnapshotView {
  root: string;
  release(): Promise<void>;
}

export interface WorkerPlatforms {
  /** Platforms whose binaries run directly. */
  native: Platform[];
  /** Platforms that run through an emulator (binfmt_misc + QEMU). */
  emulated: Platform[];
}

export interface ExecRun {
  /** The chain the step's root filesystem starts as; the step's changes become one new snapshot on top. */
  base: Chain;
  /** The process, with its extra mounts already as host paths (views, cache directories, secret files). */
  request: ExecRequest;
  signal: AbortSignal;
  onOutput: (stream: "stdout" | "stderr", chunk: Buffer) => void;
  /** Watchdog for the step (emulated steps can hang). */
  timeoutMs?: number;
}

/** A container of an image (`polyarch run`, `build --test`): its changes are thrown away. */
export interface ContainerRun {
  /** The image's root filesystem; the container writes to a fresh snapshot over it, removed afterwards. */
  base: Chain;
  platform: Platform;
  /** The image config's runtime defaults (Entrypoint, Cmd, Env, User, WorkingDir), as `docker run` maps them. */
  config: ContainerConfig | undefined;
  command: ContainerCommand;
  /** Names the image in errors (no Cmd, no such user). */
  what: string;
  signal: AbortSignal;
  onOutput: (stream: "stdout" | "stderr", chunk: Buffer) => void;
  timeoutMs?: number;
  /** `-v`: host paths bound into the container. */
  volumes?: readonly ContainerVolume[];
  /**
   * `-i`: the container reads polyarch's stdin (else it has none); `-t`: it gets a terminal, and then
   * polyarch's own terminal is handed to runc whole (its output is not seen by onOutput).
   */
  stdin?: boolean;
  tty?: boolean;
}

export interface FileOpRun {
  /** Input 0's chain: the tree the op writes; its changes become one new snapshot on top. */
  base: Chain;
  /** The other inputs' chains, by input index (index 0 is `base` itself and is not read from here). */
  inputs: readonly Chain[];
  op: FileOp;
  /** Inputs that are local sources (their files are given to root by a copy without --chown). */
  contextInputs: readonly number[];
  inputNames: readonly (string | undefined)[];
  location?: ErrorLocation;
  warn: (message: string) => void;
}

/** A layer as the solver records it: none when the snapshot changed nothing. */
export type WorkerLayer = { empty: true } | { empty: false; descriptor: Descriptor; diffId: Digest };

export interface LayerExportRun {
  /** The snapshot whose changes the layer holds. */
  top: string;
  /** The chain below it, so unchanged copy-ups and whiteouts over nothing are left out. */
  lower: Chain | undefined;
  /** Where the gzip blob is stored (streamed, its digest checked). */
  into: BlobIngester;
}

export interface UnpackRun {
  /** The shared snapshot to make (content-addressed: another process may make it too). */
  name: string;
  /** The layer blob, any compression. */
  blob: () => Promise<Readable>;
  /** Checks the result before the snapshot is kept (e.g. the diff_id); throwing keeps nothing. */
  accept: (applied: AppliedLayer) => Promise<void>;
  /**
   * The chain below, when the layer is to be unpacked onto it (its parents resolved through the layers
   * below: see apply-layer.ts); the snapshot then belongs to that chain only.
   */
  below?: Chain;
}

/** A directory of this worker's (a cache mount's), archived whole as a deterministic gzip tar. */
export interface TreeArchiveRun {
  dir: string;
  into: BlobIngester;
  /** Refuses (a UserError) a tree whose files hold more bytes than this, before writing anything. */
  maxBytes: number;
}

/** An archive made by archiveTree (untrusted: it may come from --cache-from), unpacked into `dir`. */
export interface TreeUnpackRun {
  blob: () => Promise<Readable>;
  /** An existing empty directory nothing else uses yet. */
  dir: string;
  /** Refuses an archive whose tar is longer than this. */
  maxBytes: number;
}

export type ArchivedTree = { descriptor: Descriptor; diffId: Digest; uncompressedSize: number };

export interface Worker {
  /** The platforms RUN steps can run on here, natively or emulated. */
  platforms(): Promise<WorkerPlatforms>;
  /**
   * Whether RUN steps of `platform` run under emulation here; rejects with a UserError that says how to
   * fix it (install an emulator) when they cannot run at all.
   */
  checkPlatform(platform: Platform): Promise<{ emulated: boolean }>;

  /** Whether a snapshot of that name exists (a chain whose snapshots all exist can be viewed). */
  hasSnapshot(name: string): Promise<boolean>;
  /**
   * A tree of a chain. Read-only views share the snapshots' files (never write through them); a writable
   * view is a fresh throwaway snapshot, so writes never reach a stored one.
   */
  view(chain: Chain, writable?: boolean): Promise<SnapshotView>;
  /**
   * Makes the shared snapshot `name` from nothing: `fill` writes into a fresh directory, which becomes the
   * snapshot when it succeeds; when another process made `name` first, theirs is kept.
   */
  newSnapshot(prefix: string, name: string, fill: (root: string) => Promise<void>): Promise<void>;

  /** Runs a RUN step; resolves the name of the new snapshot holding its changes. */
  exec(run: ExecRun): Promise<string>;
  /**
   * Runs an image's process as `docker run --rm` does; resolves its exit code (a non-zero exit is the
   * container's answer, not a failure). Rejects when it cannot start or times out.
   */
  runContainer(run: ContainerRun): Promise<{ exitCode: number }>;
  /** Applies a file op (COPY, ADD, WORKDIR, here-documents); resolves the new snapshot's name. */
  fileOp(run: FileOpRun): Promise<string>;
  /** Unpacks a layer blob into a new shared snapshot (overlay whiteouts, links to lower layers deferred). */
  unpackLayer(run: UnpackRun): Promise<void>;
  /** Makes the shared snapshot `name` holding a layer's hard links to the files of the chain below it. */
  linkLower(name: string, layer: string, below: Chain, links: readonly LowerLink[]): Promise<void>;
  /**
   * Whether the layer snapshot `layer`, unpacked on its own, made or missed a directory (`paths`, from
   * its AppliedLayer) where the chain below has a symlink: then it must be unpacked onto that chain.
   */
  needsLowerSymlinks(layer: string, below: Chain, paths: LowerPaths): Promise<boolean>;
  /** Exports a snapshot's changes as a deterministic gzip layer blob. */
  exportLayer(run: LayerExportRun): Promise<WorkerLayer>;
  /** Archives a directory (undefined when it holds nothing). */
  archiveTree(run: TreeArchiveRun): Promise<ArchivedTree | undefined>;
  /** Unpacks an archive of archiveTree's (device nodes, fifos, whiteouts refused; paths kept inside). */
  unpackTree(run: TreeUnpackRun): Promise<void>;

  /**
   * Removes what workers of dead processes on this state left behind (containers, cgroups, mounts,
   * bundles, open snapshots and trash). Never touches what a live process uses.
   */
  removeDeadLeftovers(): Promise<void>;
  /**
   * Removes step results that no cache record names (`referenced` holds every name one does), made by
   * processes that are gone, already there at `began`. The caller makes sure no other build is alive.
   */
  removeDeadResults(referenced: ReadonlySet<string>, began: number): Promise<number>;
  /**
   * Every stored snapshot with the bytes it holds on disk (a file with several links counted once) and
   * when it was made. Snapshots never change, so `known` sizes (by name) are taken as they are.
   */
  listSnapshots(known?: ReadonlyMap<string, number>): Promise<SnapshotUsage[]>;
  /**
   * Deletes a stored snapshot (garbage collection; the caller has removed every record naming it). It is
   * moved aside in one rename first, so a kill leaves it whole or gone from its name, never half there.
   */
  removeSnapshot(name: string): Promise<boolean>;
  /** Resolves once background work of this process (deleting released snapshots) is done. */
  settle(): Promise<void>;
}

/** A stored snapshot as garbage collection sees it. */
export interface SnapshotUsage {
  name: string;
  /** Bytes on disk (allocated blocks). */
  size: number;
  /** When it got its name (ms since the epoch). */
  madeMs: number;
}
