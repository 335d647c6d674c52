import { randomBytes } from "node:crypto";
import { lstat, mkdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ownerTag } from "../process-owner.ts";
import { CopySnapshotter } from "./copy.ts";
import { probePrefix } from "./leftover-mounts.ts";
import { mountOverlay, unmount } from "./mount.ts";
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
 * Tried with a throwaway mount once per root, boot, mount namespace and file system: the answer is kept
 * in `root/overlay-support.json` (a probe is a mount and an unmount, which every build paid before).
 */
export function overlaySupport(root: string): Promise<OverlaySupport> {
  let p = probed.get(root);
  if (!p) {
    p = rememberedProbe(root);
    probed.set(root, p);
  }
  return p;
}

const stampName = "overlay-support.json";

/** What the probe's answer depends on: the kernel's boot, this mount namespace, the file system of `root`. */
async function probeCircumstances(root: string): Promise<string | undefined> {
  try {
    const [boot, ns, st] = await Promise.all([
      readFile("/proc/sys/kernel/random/boot_id", "utf8"),
      readlink("/proc/self/ns/mnt"),
      lstat(root),
    ]);
    return `${boot.trim()} ${ns} ${st.dev}`;
  } catch {
    return undefined;
  }
}

async function rememberedProbe(root: string): Promise<OverlaySupport> {
  const circumstances = await probeCircumstances(root);
  const stamp = join(root, stampName);
  if (circumstances !== undefined) {
    try {
      const s = JSON.parse(await readFile(stamp, "utf8")) as Record<string, unknown>;
      if (
        s.circumstances === circumstances &&
        typeof s.works === "boolean" &&
        typeof s.volatile === "boolean"
      )
        return { works: s.works, volatile: s.volatile };
    } catch {
      // None yet, or unreadable: probe.
    }
  }
  const support = await probeOverlay(root);
  // Written in place, not through a temp file a kill could leave behind: a torn stamp does not parse or
  // check, and only costs the next build a probe.
  if (circumstances !== undefined)
    await writeFile(stamp, JSON.stringify({ circumstances, ...support }), { mode: 0o600 }).catch(() => {});
  return support;
}

async function probeOverlay(root: string): Promise<OverlaySupport> {
  // Named by its owner: a probe mount left by a killed process is found and removed (leftover-mounts.ts).
  const dir = join(root, `${probePrefix}${ownerTag()}-${randomBytes(4).toString("hex")}`);
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
