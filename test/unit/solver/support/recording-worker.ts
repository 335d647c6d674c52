import type { Platform } from "../../../../src/oci/platform.ts";
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
} from "../../../../src/worker/worker.ts";

export interface Call {
  method: keyof Worker;
  /** What the call was about: a chain, a snapshot name, a command. */
  detail: unknown;
}

/**
 * A second Worker: it keeps a log of every call and hands the work to another worker (the local one).
 * A build run with it proves the solver goes through the interface for everything it has run.
 */
export class RecordingWorker implements Worker {
  readonly calls: Call[] = [];
  readonly #inner: Worker;

  constructor(inner: Worker) {
    this.#inner = inner;
  }

  count(method: keyof Worker): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  #log(method: keyof Worker, detail: unknown): void {
    this.calls.push({ method, detail });
  }

  platforms(): Promise<WorkerPlatforms> {
    this.#log("platforms", undefined);
    return this.#inner.platforms();
  }
  checkPlatform(platform: Platform): Promise<{ emulated: boolean }> {
    this.#log("checkPlatform", platform);
    return this.#inner.checkPlatform(platform);
  }
  hasSnapshot(name: string): Promise<boolean> {
    this.#log("hasSnapshot", name);
    return this.#inner.hasSnapshot(name);
  }
  view(chain: Chain, writable?: boolean): Promise<SnapshotView> {
    this.#log("view", [...chain]);
    return this.#inner.view(chain, writable);
  }
  newSnapshot(prefix: string, name: string, fill: (root: string) => Promise<void>): Promise<void> {
    this.#log("newSnapshot", name);
    return this.#inner.newSnapshot(prefix, name, fill);
  }
  exec(run: ExecRun): Promise<string> {
    this.#log("exec", run.request.args);
    return this.#inner.exec(run);
  }
  runContainer(run: ContainerRun): Promise<{ exitCode: number }> {
    this.#log("runContainer", run.command);
    return this.#inner.runContainer(run);
  }
  fileOp(run: FileOpRun): Promise<string> {
    this.#log(
      "fileOp",
      run.op.actions.map((a) => a.action),
    );
    return this.#inner.fileOp(run);
  }
  unpackLayer(run: UnpackRun): Promise<void> {
    this.#log("unpackLayer", run.name);
    return this.#inner.unpackLayer(run);
  }
  linkLower(name: string, layer: string, below: Chain, links: readonly LowerLink[]): Promise<void> {
    this.#log("linkLower", name);
    return this.#inner.linkLower(name, layer, below, links);
  }
  needsLowerSymlinks(layer: string, below: Chain, paths: LowerPaths): Promise<boolean> {
    this.#log("needsLowerSymlinks", layer);
    return this.#inner.needsLowerSymlinks(layer, below, paths);
  }
  exportLayer(run: LayerExportRun): Promise<WorkerLayer> {
    this.#log("exportLayer", run.top);
    return this.#inner.exportLayer(run);
  }
  archiveTree(run: TreeArchiveRun): Promise<ArchivedTree | undefined> {
    this.#log("archiveTree", run.dir);
    return this.#inner.archiveTree(run);
  }
  unpackTree(run: TreeUnpackRun): Promise<void> {
    this.#log("unpackTree", run.dir);
    return this.#inner.unpackTree(run);
  }
  removeDeadLeftovers(): Promise<void> {
    this.#log("removeDeadLeftovers", undefined);
    return this.#inner.removeDeadLeftovers();
  }
  removeDeadResults(referenced: ReadonlySet<string>, began: number): Promise<number> {
    this.#log("removeDeadResults", referenced.size);
    return this.#inner.removeDeadResults(referenced, began);
  }
  listSnapshots(known?: ReadonlyMap<string, number>): Promise<SnapshotUsage[]> {
    this.#log("listSnapshots", undefined);
    return this.#inner.listSnapshots(known);
  }
  removeSnapshot(name: string): Promise<boolean> {
    this.#log("removeSnapshot", name);
    return this.#inner.removeSnapshot(name);
  }
  settle(): Promise<void> {
    this.#log("settle", undefined);
    return this.#inner.settle();
  }
}
