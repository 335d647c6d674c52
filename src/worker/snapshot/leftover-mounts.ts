import { readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { ownerAlive, ownerFromName, pidMayOwn } from "../process-owner.ts";
import { unmount } from "./mount.ts";

/**
 * Host mounts a build that died left under its state root: snapshots mounted for copy steps and layer
 * export views (`active/KEY/merged`, the key naming the pid), and the overlay probe
 * (`.overlay-probe-OWNER-…`). Unmounted (and the probe removed) only when their owner is dead; mounts
 * under the state root that name no owner are left alone.
 */

export const probePrefix = ".overlay-probe-";

/** mountinfo writes space, tab, newline and backslash as octal escapes. */
export function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/**
 * Mount points of this mount namespace at or below `dir`, deepest first; from `mountTable` (the text of
 * /proc/self/mountinfo) when the caller has just read it.
 */
export async function mountsUnder(dir: string, mountTable?: string): Promise<string[]> {
  const text = mountTable ?? (await readFile("/proc/self/mountinfo", "utf8").catch(() => ""));
  const points = text
    .split("\n")
    .map((line) => unescapeMountPath(line.split(" ")[4] ?? ""))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

async function madeAtMs(dir: string): Promise<number> {
  const st = await stat(dir);
  return Math.min(st.birthtimeMs > 0 ? st.birthtimeMs : Number.POSITIVE_INFINITY, st.ctimeMs, st.mtimeMs);
}

/** Whether the owner of the mount at `point` (below `snapshotsRoot`) is known to be dead. */
async function ownerDead(snapshotsRoot: string, point: string): Promise<boolean> {
  const rel = point.slice(snapshotsRoot.length + 1).split("/");
  if (rel.length === 3 && rel[0] === "active" && rel[2] === "merged") {
    const m = /^[a-z]+-([0-9a-z]+)-/.exec(rel[1]!);
    const pid = m ? Number.parseInt(m[1]!, 36) : Number.NaN;
    if (!Number.isSafeInteger(pid) || pid <= 0) return false;
    const made = await madeAtMs(join(snapshotsRoot, "active", rel[1]!)).catch(() => Number.NaN);
    return Number.isFinite(made) && !pidMayOwn(pid, made);
  }
  if (rel.length === 2 && rel[1] === "merged") {
    const owner = ownerFromName(rel[0]!, probePrefix);
    return owner !== undefined && !ownerAlive(owner);
  }
  return false;
}

/** Unmounts dead builds' snapshot mounts under `snapshotsRoot` and removes their overlay probes. */
export async function reapDeadMounts(snapshotsRoot: string, mountTable?: string): Promise<void> {
  for (const point of await mountsUnder(snapshotsRoot, mountTable)) {
    if (point === snapshotsRoot || !(await ownerDead(snapshotsRoot, point))) continue;
    await unmount(point).catch(() => {});
  }
  let entries: string[];
  try {
    entries = await readdir(snapshotsRoot);
  } catch {
    return;
  }
  for (const name of entries) {
    const owner = ownerFromName(name, probePrefix);
    if (!owner || ownerAlive(owner)) continue;
    const dir = join(snapshotsRoot, name);
    // Never delete through a mount that is still there.
    if ((await mountsUnder(dir)).length === 0) await rm(dir, { recursive: true, force: true });
  }
}
