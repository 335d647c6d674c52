/**
 * The local worker: runs a build's ops on this machine, with runc (under QEMU through binfmt_misc for a
 * foreign platform), overlay (or copy) snapshots and the file-op, unpack and differ code of worker/.
 *
 * Its parts load and start only when a build has work for them: a fully cached build never creates a
 * snapshotter or an executor and never starts runc.
 *
 * Layout under its root (`<state>/solver/`): the snapshots (snapshot-store.ts), and
 *   exec/   runc state (the per-step bundles live on /dev/shm: see ../executor/bundle-root.ts)
 */
import { readFile, realpath } from "node:fs/promises";
import { join } from "node:path";
import { type Platform, samePlatform } from "../../oci/platform.ts";
import type { EmulationDetector } from "../emulation/runnable.ts";
import { defaultBundleRoot } from "../executor/bundle-root.ts";
import type { RuncExecutor } from "../executor/executor.ts";
import type { SnapshotterMode } from "../snapshot/create.ts";
import type {
  ArchivedTree,
  Chain,
  ContainerRun,
  ExecRun,
  FileOpRun,
  LayerExportRun,
  LowerLink,
  LowerPaths,
  SnapshotUsage,
  SnapshotView,
  TreeArchiveRun,
  TreeUnpackRun,
  UnpackRun,
  Worker,
  WorkerLayer,
  WorkerPlatforms,
} from "../worker.ts";
import { SnapshotStore } from "./snapshot-store.ts";

export interface LocalWorkerOptions {
  /** polyarch's state directory; the worker keeps its snapshots and runc state under `solver/`. */
  stateRoot: string;
  /** "auto" (overlay where it works, else copies), "overlay" or "copy". */
  snapshotter?: SnapshotterMode;
  /** Where binfmt_misc is read (tests point it at an empty dir); default /proc/sys/fs/binfmt_misc. */
  binfmtDir?: string;
  /** The runc binary; default `runc` on PATH. */
  runcBinary?: string;
}

/** Where the local worker of a state root keeps what a dead build can leave behind (clean-up, its tests). */
export function leftoverPlaces(stateRoot: string) {
  const root = join(stateRoot, "solver");
  const exec = join(root, "exec");
  return {
    runcRoot: join(exec, "runc"),
    bundleRoot: defaultBundleRoot(exec),
    snapshots: join(root, "snapshots"),
  };
}

export class LocalWorker implements Worker {
  readonly #stateRoot: string;
  readonly root: string;
  readonly #options: LocalWorkerOptions;
  readonly #snapshots: SnapshotStore;
  #executor: Promise<RuncExecutor> | undefined;
  #emulation: Promise<EmulationDetector> | undefined;

  constructor(options: LocalWorkerOptions) {
    this.#stateRoot = options.stateRoot;
    this.root = join(options.stateRoot, "solver");
    this.#options = options;
    this.#snapshots = new SnapshotStore(this.root, options.snapshotter ?? "auto");
  }

  #detector(): Promise<EmulationDetector> {
    this.#emulation ??= import("../emulation/runnable.ts").then(
      (m) =>
        new m.EmulationDetector(
          this.#options.binfmtDir === undefined ? {} : { binfmtDir: this.#options.binfmtDir },
        ),
    );
    return this.#emulation;
  }

  #runc(): Promise<RuncExecutor> {
    this.#executor ??= Promise.all([import("../executor/executor.ts"), this.#detector()]).then(
      ([ex, emulation]) => new ex.RuncExecutor({ stateRoot: join(this.root, "exec"), emulation }),
    );
    return this.#executor;
  }

  async platforms(): Promise<WorkerPlatforms> {
    const report = await (await this.#detector()).report();
    const native: Platform[] = [];
    const emulated: Platform[] = [];
    for (const r of report.runnable) {
      const list = r.native ? native : emulated;
      if (!list.some((p) => samePlatform(p, r.platform))) list.push(r.platform);
    }
    return { native, emulated };
  }

  async checkPlatform(platform: Platform): Promise<{ emulated: boolean }> {
    return { emulated: !(await (await this.#detector()).assertCanRun(platform)).native };
  }

  hasSnapshot(name: string): Promise<boolean> {
    return this.#snapshots.exists(name);
  }

  /** Where a snapshot's own files are on this machine. */
  snapshotPath(name: string): string {
    return this.#snapshots.path(name);
  }

  view(chain: Chain, writable = false): Promise<SnapshotView> {
    return this.#snapshots.view(chain, writable);
  }

  newSnapshot(prefix: string, name: string, fill: (root: string) => Promise<void>): Promise<void> {
    return this.#snapshots.fillNew(prefix, name, fill);
  }

  async exec(run: ExecRun): Promise<string> {
    const executor = await this.#runc();
    return this.#snapshots.withNewExecTop("run", run.base, async (root) => {
      await executor.run(root, run.request, {
        signal: run.signal,
        onOutput: run.onOutput,
        ...(run.timeoutMs === undefined ? {} : { timeoutMs: run.timeoutMs }),
      });
    });
  }

  async runContainer(run: ContainerRun): Promise<{ exitCode: number }> {
    const [executor, { containerProcess }, { ExecFailedError }] = await Promise.all([
      this.#runc(),
      import("../container-process.ts"),
      import("../executor/errors.ts"),
    ]);
    const request = containerProcess(
      run.config,
      run.platform,
      run.command,
      run.what,
      run.volumes ?? [],
      run.tty === true,
    );
    return this.#snapshots.withThrowawayExecTop("container", run.base, async (root) => {
      try {
        await executor.run(root, request, {
          signal: run.signal,
          onOutput: run.onOutput,
          stdio: run.tty ? "terminal" : run.stdin ? "stdin" : "pipes",
          ...(run.timeoutMs === undefined ? {} : { timeoutMs: run.timeoutMs }),
        });
        return { exitCode: 0 };
      } catch (e) {
        if (e instanceof ExecFailedError) return { exitCode: e.exitCode };
        throw e;
      }
    });
  }

  async fileOp(run: FileOpRun): Promise<string> {
    const { applyFileOp } = await import("../fileop/index.ts");
    return this.#snapshots.withNewTop("file", run.base, async (dest) => {
      const views: SnapshotView[] = [];
      try {
        const roots: string[] = [dest];
        for (let i = 1; i < run.inputs.length; i++) {
          const view = await this.view(run.inputs[i] ?? []);
          views.push(view);
          roots.push(view.root);
        }
        const location = run.location;
        await applyFileOp(run.op, {
          dest,
          inputs: roots,
          contextInputs: run.contextInputs,
          inputNames: run.inputNames,
          ...(location ? { location, where: `${location.file}:${location.line}` } : {}),
          warn: run.warn,
        });
        for (const v of views.splice(0)) await v.release();
      } finally {
        for (const v of views) await v.release().catch(() => {});
      }
      return undefined;
    });
  }

  async unpackLayer(run: UnpackRun): Promise<void> {
    const { applyLayer } = await import("../layer/apply-layer.ts");
    const lower = run.below === undefined ? undefined : await this.view(run.below);
    try {
      await this.#snapshots.fillNew("unpack", run.name, async (root) => {
        const applied = await applyLayer(await run.blob(), {
          root,
          whiteouts: "overlay",
          linksToLower: "defer",
          ...(lower === undefined ? {} : { lower: lower.root }),
        });
        await run.accept(applied);
      });
    } finally {
      await lower?.release();
    }
  }

  async needsLowerSymlinks(layer: string, below: Chain, paths: LowerPaths): Promise<boolean> {
    if (paths.created.length === 0 && paths.missing.length === 0) return false;
    const { needsLowerSymlinks } = await import("../layer/lower-symlinks.ts");
    const lower = await this.view(below);
    try {
      return needsLowerSymlinks(paths, {
        layer: this.snapshotPath(layer),
        lower: lower.root,
        opaqueXattr: "trusted.overlay.opaque",
      });
    } finally {
      await lower.release();
    }
  }

  async linkLower(name: string, layer: string, below: Chain, links: readonly LowerLink[]): Promise<void> {
    const { makeLowerLinks } = await import("../layer/lower-links.ts");
    const lower = await this.view(below);
    try {
      await this.#snapshots.fillNew("links", name, (into) =>
        makeLowerLinks(links, { layer: this.snapshotPath(layer), lower: lower.root, into }),
      );
    } finally {
      await lower.release();
    }
  }

  /**
   * A snapshot's own directory (overlay upper format) as a deterministic gzip tar, streamed into the
   * content store (diff_id and digest computed on the way). The lower view lets the differ drop what did
   * not really change (a directory copied up unchanged, a whiteout over nothing); an unchanged step gives
   * an empty layer, which the image leaves out as BuildKit does.
   */
  async exportLayer(run: LayerExportRun): Promise<WorkerLayer> {
    const [{ computeChanges }, { writeLayer }, { compressOnce }, { ingestStream }] = await Promise.all([
      import("../layer/differ.ts"),
      import("../layer/export-layer.ts"),
      import("../layer/compress-once.ts"),
      import("../../content/ingest-stream.ts"),
    ]);
    const lower = run.lower && run.lower.length > 0 ? await this.view(run.lower) : undefined;
    try {
      const changes = await computeChanges({
        upper: this.snapshotPath(run.top),
        upperKind: "overlay",
        ...(lower ? { lower: lower.root } : {}),
      });
      if (changes.length === 0) return { empty: true };
      // A diff another platform already compressed is taken as it is (compress-once.ts).
      const layer = await compressOnce(run.into, changes, "gzip", async () => {
        const sink = await ingestStream(run.into);
        const result = await writeLayer(changes, { sink: sink.stream });
        const info = await sink.committed;
        if (info.digest !== result.descriptor.digest)
          throw new Error(
            `layer export: stored ${info.digest}, but the tar hashed to ${result.descriptor.digest}`,
          );
        return { descriptor: result.descriptor, diffId: result.diffId };
      });
      return { empty: false, descriptor: layer.descriptor, diffId: layer.diffId };
    } finally {
      await lower?.release();
    }
  }

  async archiveTree(run: TreeArchiveRun): Promise<ArchivedTree | undefined> {
    const { archiveTree } = await import("../layer/tree-archive.ts");
    return archiveTree(run.dir, run.into, run.maxBytes);
  }

  async unpackTree(run: TreeUnpackRun): Promise<void> {
    const { unpackTree } = await import("../layer/tree-archive.ts");
    await unpackTree(await run.blob(), run.dir, run.maxBytes);
  }

  /**
   * What builds that died on this state root left behind: their runc containers first (an orphaned
   * emulated step may still be running and must not have its snapshot taken away under it), then their
   * cgroups, host mounts and runtime bundles. Only leftovers whose owner is dead are touched
   * (../process-owner.ts); the usual case, nothing left, costs a few directory reads and one read of
   * /proc/self/mountinfo.
   */
  async removeDeadLeftovers(): Promise<void> {
    const [{ reapDeadBundles, reapDeadCgroups, reapDeadContainers }, { reapDeadMounts }] = await Promise.all([
      import("../executor/leftovers.ts"),
      import("../snapshot/leftover-mounts.ts"),
    ]);
    const places = leftoverPlaces(this.#stateRoot);
    await reapDeadContainers({ binary: this.#options.runcBinary ?? "runc", stateDir: places.runcRoot });
    // One read of the mount table serves both sweeps below (each read it before, on every build).
    const mountTable = await readFile("/proc/self/mountinfo", "utf8").catch(() => undefined);
    // Also those of containers whose runc state never got written (killed in `runc run`'s first moments).
    await reapDeadCgroups(mountTable);
    // mountinfo names mount points by their real path.
    const snapshots = await realpath(places.snapshots).catch(() => undefined);
    if (snapshots) await reapDeadMounts(snapshots, mountTable);
    await reapDeadBundles(places.bundleRoot);
    await this.#snapshots.sweepAbandoned().catch(() => {});
  }

  removeDeadResults(referenced: ReadonlySet<string>, began: number): Promise<number> {
    return this.#snapshots.removeDeadResults(referenced, began);
  }

  listSnapshots(known?: ReadonlyMap<string, number>): Promise<SnapshotUsage[]> {
    return this.#snapshots.list(known);
  }

  removeSnapshot(name: string): Promise<boolean> {
    return this.#snapshots.remove(name);
  }

  async settle(): Promise<void> {
    if (this.#snapshots.used) await this.#snapshots.settle();
  }
}
