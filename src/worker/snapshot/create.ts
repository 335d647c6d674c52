import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { uniqueSuffix } from "../../fsutil/atomic-file.ts";
import { orphanedTemp } from "../../fsutil/orphans.ts";
import { CopySnapshotter } from "./copy.ts";
import { isMounted, mountOverlay, unmount } from "./mount.ts";
import { OverlaySnapshotter } from "./overlay.ts";
import type { Snapshotter } from "./snapshotter.ts";

export interface OverlaySupport {
  works: boolean;
  volatile: boolean;
}

const probed = new Map<string, Promise<OverlaySupport>>();

/**
 * Whether an overlay with its upper dir under `root` can be mounted here: needs root (or a user
 * namespace), a kernel with overlayfs, and a filesystem under `root` that overlay accepts as upper.
 * Tried once per root per process with a throwaway mount.
 */
export function overlaySupport(root: string): Promise<OverlaySupport> {
  let p = probed.get(root);
  if (!p) {
    p = probeOverlay(root);
    probed.set(root, p);
  }
  return p;
}

async function probeOverlay(root: string): Promise<OverlaySupport> {
  await removeDeadProbes(root);
  // The name carries the pid (uniqueSuffix), so a probe a kill interrupted is known as such later.
  const dir = join(root, `.overlay-probe-${uniqueSuffix()}`);
  const [lower, upper, work, merged] = ["lower", "upper", "work", "merged"].map((d) => join(dir, d)) as [
    string,
    string,
    string,
    string,
  ];
  try {
    await Promise.all([lower, upper, work, merged].map((d) => mkdir(d, { recursive: true })));
    await writeFile(join(lower, "probe"), "");
    for (const volatile of [true, false]) {
      try {
        await mountOverlay([lower], upper, work, merged, { volatile });
      } catch {
        continue;
      }
      await unmount(merged);
      return { works: true, volatile };
    }
    return { works: false, volatile: false };
  } catch {
    return { works: false, volatile: false };
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Probe dirs of killed processes (a kill between mount and unmount leaves the mount too). */
async function removeDeadProbes(root: string): Promise<void> {
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const dir = join(root, name);
    if (!name.startsWith(".overlay-probe-") || !(await orphanedTemp(dir, name))) continue;
    const merged = join(dir, "merged");
    if (await isMounted(merged).catch(() => false)) await unmount(merged).catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

export type SnapshotterMode = "auto" | "overlay" | "copy";

/** An overlay snapshotter under `root` when overlay mounts work there, the copy-based one otherwise. */
export async function createSnapshotter(root: string, mode: SnapshotterMode = "auto"): Promise<Snapshotter> {
  await mkdir(root, { recursive: true });
  if (mode === "copy") return new CopySnapshotter(root);
  const support = await overlaySupport(root);
  if (mode === "overlay" || support.works)
    return new OverlaySnapshotter(root, { volatile: support.volatile });
  return new CopySnapshotter(root);
}
