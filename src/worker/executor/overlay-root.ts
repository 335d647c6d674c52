import { lchown, lutimes, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { UserError } from "../../errors/user-error.ts";
import { chmodNoFollow } from "../../fsutil/no-follow.ts";
import type { OverlayRoot } from "../snapshot/snapshotter.ts";
import { resolveLayered, topEntry } from "./layered-path.ts";
import { removeStubsNoFollow } from "./mount-stubs.ts";
import type { RuntimeMount } from "./runtime-spec.ts";

/**
 * What the executor does to a rootfs before and after a run, for an overlay that runc mounts itself
 * (see OverlayRoot): the same results as on a mounted rootfs, worked out from the layer directories.
 */

/** The layers as the overlay stacks them, top first: the upper dir, then the lowers from the top. */
export function layersTopFirst(o: OverlayRoot): string[] {
  return [o.upper, ...[...o.lowers].reverse()];
}

/** The overlay as the spec's first mount; `bottom` is an extra lowest layer (the run's mount points). */
export function overlayRootMount(o: OverlayRoot, bottom?: string): RuntimeMount {
  const lowers = bottom ? [bottom, ...o.lowers] : o.lowers;
  return {
    destination: "/",
    type: "overlay",
    source: "overlay",
    options: [
      `lowerdir=${[...lowers].reverse().join(":")}`,
      `upperdir=${o.upper}`,
      `workdir=${o.work}`,
      ...o.options,
    ],
  };
}

/**
 * Creates a missing working directory in the upper dir, as mkdirInRoot does on a mounted rootfs: new
 * directories are owned by uid:gid with mode 0755; existing ones of the lowers are copied up as the overlay
 * would (mode, owner and modification time, to the millisecond).
 */
export async function mkdirInOverlay(o: OverlayRoot, containerPath: string, uid: number, gid: number) {
  const layers = layersTopFirst(o);
  const { parts, entry } = await resolveLayered(layers, containerPath);
  if (entry?.stats.isDirectory()) return;
  for (let i = 1; i <= parts.length; i++) {
    const sub = parts.slice(0, i);
    const upper = join(o.upper, ...sub);
    const found = await topEntry(layers, sub);
    if (found && !found.stats.isDirectory())
      throw new UserError(`cannot create directory ${containerPath}: /${sub.join("/")} is not a directory`);
    if (found?.host === upper) continue;
    await mkdir(upper, { mode: 0o755 });
    if (found) {
      // Metadata never follows a link, even on a name this function has just made (the GUIDE's rule).
      await lchown(upper, found.stats.uid, found.stats.gid);
      chmodNoFollow(upper, found.stats.mode & 0o7777);
      await lutimes(upper, found.stats.atime, found.stats.mtime);
    } else await lchown(upper, uid, gid);
  }
}

export interface OverlayStub {
  parts: string[];
  dir: boolean;
}

/** The mount points missing from the overlay, parents before children, each with whether it is a directory. */
export async function missingMountPoints(
  o: OverlayRoot,
  mountPoints: readonly { path: string; dir: boolean }[],
): Promise<OverlayStub[]> {
  const layers = layersTopFirst(o);
  const out = new Map<string, OverlayStub>();
  for (const m of mountPoints) {
    const { parts, entry } = await resolveLayered(layers, m.path);
    if (entry) continue;
    for (let i = 1; i <= parts.length; i++) {
      const sub = parts.slice(0, i);
      if (i < parts.length && (await topEntry(layers, sub))) continue;
      out.set(sub.join("/"), { parts: sub, dir: i < parts.length || m.dir });
    }
  }
  return [...out.values()].sort((a, b) => a.parts.length - b.parts.length);
}

/**
 * Writes the missing mount points as a layer of their own, stacked beneath all others: runc then finds
 * them and creates nothing in the upper dir, which stays exactly the step's change.
 */
export async function writeStubLayer(dir: string, stubs: readonly OverlayStub[]) {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const s of stubs) {
    const p = join(dir, ...s.parts);
    // Parents the image has come from its layers above; these copies beneath only carry the stub.
    await mkdir(s.dir ? p : dirname(p), { recursive: true, mode: 0o755 });
    if (!s.dir) await writeFile(p, "", { mode: 0o644 });
  }
}

/**
 * Where a whiteout or an opaque directory hid a stub from runc, it made one in the upper dir: removes
 * those that are still empty (the parent's new modification time stays, unlike on a mounted rootfs).
 * The upper dir is the step's: a link it planted on the way is never followed (removeStubsNoFollow).
 */
export async function removeUpperStubs(upper: string, stubs: readonly OverlayStub[]) {
  removeStubsNoFollow(
    upper,
    [...stubs].reverse().map((s) => s.parts),
  );
}
