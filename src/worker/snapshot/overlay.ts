import { access, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isMounted, maxMountData, mountOverlay, overlayExtraOptions, unmount } from "./mount.ts";
import {
  type ActiveSnapshot,
  checkSnapshotKey,
  type ExecSnapshot,
  execMountPoints,
  type PrepareOptions,
  type Snapshotter,
} from "./snapshotter.ts";
import { Trash } from "./trash.ts";

/**
 * Snapshots as overlay mounts: the parents are stacked read-only as lowerdirs and the step writes to an
 * upper dir, which after the run holds exactly its changes (whiteouts included) and becomes the layer.
 * Base layers are thus unpacked once and shared by every step and platform that builds on them.
 *
 * Layout under root: active/KEY/{upper,work,merged} while a snapshot is open, layers/KEY once committed.
 */
export class OverlaySnapshotter implements Snapshotter {
  readonly kind = "overlay";
  readonly #root: string;
  /** Keys prepared by this process, and those of them still mounted: saves a mountinfo read per step. */
  readonly #known = new Set<string>();
  readonly #mounted = new Set<string>();
  readonly #trash: Trash;
  #layersDir: Promise<void> | undefined;
  #stubLayer: Promise<string> | undefined;

  readonly #volatile: boolean;

  /** `volatile`: mount with overlay's volatile option (see mountOverlay); only where the kernel has it. */
  constructor(root: string, options: { volatile?: boolean } = {}) {
    this.#root = root;
    this.#trash = new Trash(join(root, "trash"));
    this.#volatile = options.volatile ?? false;
  }

  #active(key: string) {
    const dir = join(this.#root, "active", checkSnapshotKey(key));
    return { dir, upper: join(dir, "upper"), work: join(dir, "work"), merged: join(dir, "merged") };
  }

  layerDir(key: string): string {
    return join(this.#root, "layers", checkSnapshotKey(key));
  }

  /** The shared bottom layer of empty mount points (see PrepareOptions.forExec), made once. */
  #execStubs(): Promise<string> {
    this.#stubLayer ??= (async () => {
      const dir = join(this.#root, "exec-mountpoints");
      const staging = `${dir}.${process.pid}.tmp`;
      try {
        await access(dir);
        return dir;
      } catch {
        // Not made yet: build it aside and rename it into place, so no process ever sees half of it.
      }
      await rm(staging, { recursive: true, force: true });
      for (const m of execMountPoints) {
        const p = join(staging, m.path);
        if (m.dir) await mkdir(p, { recursive: true, mode: 0o755 });
        else {
          await mkdir(dirname(p), { recursive: true, mode: 0o755 });
          await writeFile(p, "", { mode: 0o644 });
        }
      }
      try {
        await rename(staging, dir);
      } catch {
        // Another process won the race; theirs is as good.
        await rm(staging, { recursive: true, force: true });
      }
      return dir;
    })();
    return this.#stubLayer;
  }

  async prepare(
    key: string,
    parents: readonly string[],
    options: PrepareOptions = {},
  ): Promise<ActiveSnapshot> {
    const a = this.#active(key);
    await rm(a.dir, { recursive: true, force: true });
    await mkdir(a.upper, { recursive: true, mode: 0o755 });
    this.#known.add(key);
    if (parents.length === 0) {
      // Nothing to stack: the upper dir itself is the rootfs, and everything in it is the change.
      return { key, rootfs: a.upper, release: async () => {} };
    }
    await Promise.all([mkdir(a.work, { mode: 0o700 }), mkdir(a.merged, { mode: 0o755 })]);
    try {
      const lowers = options.forExec ? [await this.#execStubs(), ...parents] : parents;
      await mountOverlay(lowers, a.upper, a.work, a.merged, { volatile: this.#volatile });
    } catch (e) {
      await rm(a.dir, { recursive: true, force: true });
      throw e;
    }
    this.#mounted.add(key);
    let released = false;
    return {
      key,
      rootfs: a.merged,
      release: async () => {
        if (released) return;
        released = true;
        await unmount(a.merged);
        this.#mounted.delete(key);
      },
    };
  }

  /**
   * The overlay for a RUN step, not mounted: runc mounts it as the container's root inside its own mount
   * namespace. Falls back to a mounted snapshot when the lowerdirs do not fit in one page with absolute
   * paths (the relative form mount(8) gets needs a cwd runc cannot give); the margin leaves room for a
   * layer the executor may add.
   */
  async prepareExec(key: string, parents: readonly string[]): Promise<ExecSnapshot> {
    const lowers = parents.length === 0 ? [] : [await this.#execStubs(), ...parents];
    const a = this.#active(key);
    const length = [...lowers, a.upper, a.work].reduce((n, p) => n + p.length + 12, 0);
    if (parents.length === 0 || length > maxMountData - 512) {
      const snap = await this.prepare(key, parents, { forExec: true });
      return { key, root: snap.rootfs, release: snap.release };
    }
    await rm(a.dir, { recursive: true, force: true });
    await mkdir(a.upper, { recursive: true, mode: 0o755 });
    await mkdir(a.work, { mode: 0o700 });
    this.#known.add(key);
    const options = overlayExtraOptions();
    if (this.#volatile) options.push("volatile");
    return { key, root: { lowers, upper: a.upper, work: a.work, options }, release: async () => {} };
  }

  /** Unmounts what this process mounted and did not release; asks the kernel only about other keys. */
  async #unmountIfNeeded(key: string, merged: string) {
    if (this.#mounted.has(key) || (!this.#known.has(key) && (await isMounted(merged)))) await unmount(merged);
    this.#mounted.delete(key);
  }

  async commit(key: string): Promise<string> {
    const a = this.#active(key);
    await this.#unmountIfNeeded(key, a.merged);
    this.#known.delete(key);
    const layer = this.layerDir(key);
    this.#layersDir ??= mkdir(join(this.#root, "layers"), { recursive: true }).then(() => {});
    await this.#layersDir;
    await this.#trash.discard(layer);
    await rename(a.upper, layer);
    await this.#trash.discard(a.dir);
    return layer;
  }

  async remove(key: string): Promise<void> {
    const a = this.#active(key);
    await this.#unmountIfNeeded(key, a.merged);
    this.#known.delete(key);
    await Promise.all([this.#trash.discard(a.dir), this.#trash.discard(this.layerDir(key))]);
  }

  /** Resolves once every removed snapshot is gone from disk. */
  settle(): Promise<void> {
    return this.#trash.drain();
  }
}
