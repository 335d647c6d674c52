import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatPlatform, type Platform } from "../../../src/oci/platform.ts";
import type { ExecRequest } from "../../../src/worker/executor/exec-request.ts";
import { RuncExecutor, type RunOptions } from "../../../src/worker/executor/executor.ts";
import { runcList } from "../../../src/worker/executor/runc.ts";
import { createSnapshotter, type SnapshotterMode } from "../../../src/worker/snapshot/create.ts";
import type { Snapshotter } from "../../../src/worker/snapshot/snapshotter.ts";
import { busyboxRootfs } from "../../harness/busybox-rootfs.ts";

/** What `uname -m` prints for each platform of the busybox fixture. */
export const unameOf: Record<string, string> = {
  "linux/amd64": "x86_64",
  "linux/arm64": "aarch64",
  "linux/arm/v7": "armv7l",
};

/** A state dir with an executor, a snapshotter and the busybox base layer for each platform asked for. */
export class ExecFixture {
  readonly dir: string;
  readonly executor: RuncExecutor;
  readonly snapshotter: Snapshotter;
  readonly #bases = new Map<string, string>();
  #seq = 0;

  private constructor(dir: string, executor: RuncExecutor, snapshotter: Snapshotter) {
    this.dir = dir;
    this.executor = executor;
    this.snapshotter = snapshotter;
  }

  static async create(mode: SnapshotterMode = "auto"): Promise<ExecFixture> {
    const dir = await mkdtemp(join(tmpdir(), "polyarch-exec-"));
    const executor = new RuncExecutor({ stateRoot: join(dir, "state") });
    const snapshotter = await createSnapshotter(join(dir, "snapshots"), mode);
    return new ExecFixture(dir, executor, snapshotter);
  }

  /** The unpacked busybox rootfs of a platform, used as the bottom layer of every snapshot. */
  async base(platform: Platform): Promise<string> {
    const key = formatPlatform(platform);
    let dir = this.#bases.get(key);
    if (!dir) {
      dir = join(this.dir, "base", key.replaceAll("/", "_"));
      await mkdir(dir, { recursive: true });
      await busyboxRootfs(platform, dir);
      this.#bases.set(key, dir);
    }
    return dir;
  }

  /** A fresh writable snapshot over the platform's busybox base (plus any extra layers on top). */
  async snapshot(platform: Platform, extraLayers: string[] = []) {
    const key = `t${++this.#seq}`;
    return this.snapshotter.prepare(key, [await this.base(platform), ...extraLayers], { forExec: true });
  }

  /** Runs a shell command in a fresh snapshot and returns what it printed. */
  async sh(
    platform: Platform,
    script: string,
    req: Partial<ExecRequest> = {},
    options: RunOptions = {},
  ): Promise<{ stdout: string; stderr: string; emulated: boolean }> {
    const snap = await this.snapshot(platform);
    let stdout = "";
    let stderr = "";
    try {
      const r = await this.executor.run(
        snap.rootfs,
        { args: ["/bin/sh", "-c", script], env: [], platform, ...req },
        {
          ...options,
          onOutput: (stream, chunk) => {
            if (stream === "stdout") stdout += chunk.toString();
            else stderr += chunk.toString();
            options.onOutput?.(stream, chunk);
          },
        },
      );
      return { stdout, stderr, emulated: r.emulated };
    } finally {
      await snap.release();
      await this.snapshotter.remove(snap.key);
    }
  }

  async containers(): Promise<string[]> {
    return runcList(this.executor.runcConfig);
  }

  async bundles(): Promise<string[]> {
    try {
      return await readdir(this.executor.bundleRoot);
    } catch {
      return [];
    }
  }

  async dispose(): Promise<void> {
    await this.snapshotter.settle();
    await rm(this.dir, { recursive: true, force: true });
  }
}
