import { execFile } from "node:child_process";
import { lstat, mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { opaqueDirectories } from "./opaque-dirs.ts";
import { type ActiveSnapshot, checkSnapshotKey, type ExecSnapshot, type Snapshotter } from "./snapshotter.ts";
import { copyPaths } from "./tar-tools.ts";
import { diffTrees, indexTree, type TreeIndex } from "./tree-index.ts";

const execFileAsync = promisify(execFile);

/**
 * Lays one layer directory (overlay format) over `target`: whiteouts and opaque directories delete what
 * they hide, an entry whose kind changed (dir vs non-dir) replaces the old one, then `cp -a` copies the
 * layer in (reflinked where the filesystem can). The layer's ancestors are fixed before its children, so
 * a symlink a lower layer planted never redirects a copy out of `target`.
 */
export async function applyLayerDir(layer: string, target: string): Promise<void> {
  const index = await indexTree(layer);
  const dirs = [...index].filter(([rel, s]) => rel !== "" && s.type === "dir").map(([rel]) => rel);
  const opaque = await opaqueDirectories(layer, dirs);
  const whiteouts: string[] = [];
  for (const [rel, state] of index) {
    if (rel === "") continue;
    const dest = join(target, rel);
    // A whiteout is a character device 0:0.
    if (state.type === "other" && (state.mode & 0o170000) === 0o020000 && state.rdev === 0n) {
      whiteouts.push(rel);
      await rm(dest, { recursive: true, force: true });
      continue;
    }
    if (opaque.has(rel)) {
      await rm(dest, { recursive: true, force: true });
      continue;
    }
    let existing: Awaited<ReturnType<typeof lstat>> | undefined;
    try {
      existing = await lstat(dest);
    } catch {
      continue;
    }
    if (existing.isDirectory() !== (state.type === "dir")) await rm(dest, { recursive: true, force: true });
  }
  await execFileAsync("cp", ["-a", "--reflink=auto", "--remove-destination", `${layer}/.`, `${target}/`]);
  for (const rel of whiteouts) await rm(join(target, rel), { force: true });
}

interface OpenCopy {
  rootfs: string;
  baseline: TreeIndex;
}

/**
 * The fallback where overlay cannot be mounted (nested in another overlay on old kernels, some
 * container runtimes): each snapshot is a full copy of its parents, and commit compares the copy with
 * the state recorded at prepare to write the changes as a layer directory in overlay format. Slower in
 * proportion to the rootfs size, but it needs nothing from the kernel beyond a plain filesystem.
 */
export class CopySnapshotter implements Snapshotter {
  readonly kind = "copy";
  readonly #root: string;
  readonly #open = new Map<string, OpenCopy>();

  constructor(root: string) {
    this.#root = root;
  }

  #activeDir(key: string) {
    return join(this.#root, "active", checkSnapshotKey(key));
  }

  layerDir(key: string): string {
    return join(this.#root, "layers", checkSnapshotKey(key));
  }

  async prepare(key: string, parents: readonly string[]): Promise<ActiveSnapshot> {
    const dir = this.#activeDir(key);
    await rm(dir, { recursive: true, force: true });
    const rootfs = join(dir, "rootfs");
    await mkdir(rootfs, { recursive: true, mode: 0o755 });
    try {
      for (const parent of parents) await applyLayerDir(parent, rootfs);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    this.#open.set(key, { rootfs, baseline: await indexTree(rootfs) });
    return { key, rootfs, release: async () => {} };
  }

  async prepareExec(key: string, parents: readonly string[]): Promise<ExecSnapshot> {
    const snap = await this.prepare(key, parents);
    return { key, root: snap.rootfs, release: snap.release };
  }

  async commit(key: string): Promise<string> {
    const open = this.#open.get(key);
    if (!open) throw new Error(`snapshot ${key} was not prepared by this process`);
    const changes = diffTrees(open.baseline, await indexTree(open.rootfs));
    const staging = join(this.#activeDir(key), "layer");
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { mode: 0o755 });
    // Whiteouts first: the copy below then gives their parent directories the right times and modes.
    for (const rel of changes.whiteouts) {
      const parent = join(staging, rel, "..");
      await mkdir(parent, { recursive: true });
      await execFileAsync("mknod", ["-m", "000", join(staging, rel), "c", "0", "0"]);
    }
    await copyPaths(open.rootfs, staging, changes.copy);
    const layer = this.layerDir(key);
    await mkdir(join(this.#root, "layers"), { recursive: true });
    await rm(layer, { recursive: true, force: true });
    await rename(staging, layer);
    await rm(this.#activeDir(key), { recursive: true, force: true });
    this.#open.delete(key);
    return layer;
  }

  async settle(): Promise<void> {}

  async remove(key: string): Promise<void> {
    this.#open.delete(key);
    await rm(this.#activeDir(key), { recursive: true, force: true });
    await rm(this.layerDir(key), { recursive: true, force: true });
  }
}
