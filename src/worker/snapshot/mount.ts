import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, relative, sep } from "node:path";
import { runTool } from "./tool-shell.ts";

/** mount/umount run through one long-lived shell: a spawn from this process costs far more than they do. */
async function tool(file: string, args: readonly string[], cwd?: string): Promise<void> {
  await runTool(file, args, cwd);
}

/** The kernel copies mount data into one page; longer option strings fail with EINVAL. */
export const maxMountData = 3900;

export interface OverlayMountPlan {
  options: string;
  /** When set, mount runs here and the lowerdirs are relative to it (to fit many layers in one page). */
  cwd?: string;
}

/**
 * Options for an overlay mount. `lowers` are ordered bottom first; overlayfs wants the top first.
 * redirect_dir and metacopy are forced off where the kernel knows them: with them on, a renamed
 * directory or a chmod-ed file would leave an upper dir that no longer holds the whole change, and the
 * differ reads the upper dir as the step's layer.
 */
export function overlayMountPlan(
  lowers: readonly string[],
  upper: string,
  work: string,
  features: { redirectDir: boolean; metacopy: boolean; index: boolean } = kernelOverlayFeatures(),
): OverlayMountPlan {
  const extra = overlayExtraOptions(features);
  const build = (l: readonly string[], u: string, w: string) =>
    [`lowerdir=${[...l].reverse().join(":")}`, `upperdir=${u}`, `workdir=${w}`, ...extra].join(",");
  const full = build(lowers, upper, work);
  if (full.length <= maxMountData) return { options: full };
  const base = commonDir([...lowers, upper, work]);
  const rel = (p: string) => relative(base, p) || ".";
  return { options: build(lowers.map(rel), rel(upper), rel(work)), cwd: base };
}

/** The options beside the dirs that every overlay of a snapshot carries (see overlayMountPlan). */
export function overlayExtraOptions(
  features: { redirectDir: boolean; metacopy: boolean; index: boolean } = kernelOverlayFeatures(),
): string[] {
  const extra: string[] = [];
  if (features.index) extra.push("index=off");
  if (features.redirectDir) extra.push("redirect_dir=off");
  if (features.metacopy) extra.push("metacopy=off");
  return extra;
}

function commonDir(paths: readonly string[]): string {
  let parts = dirname(paths[0]!).split(sep);
  for (const p of paths.slice(1)) {
    const q = p.split(sep);
    let i = 0;
    while (i < parts.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join(sep) || sep;
}

let features: { redirectDir: boolean; metacopy: boolean; index: boolean } | undefined;
export function kernelOverlayFeatures() {
  const has = (name: string) => existsSync(`/sys/module/overlay/parameters/${name}`);
  features ??= { redirectDir: has("redirect_dir"), metacopy: has("metacopy"), index: has("index") };
  return features;
}

/**
 * `volatile` (Linux 5.10+) skips overlay's syncs of the upper filesystem, which otherwise make every
 * unmount flush the whole host filesystem. A snapshot never outlives a crash anyway: prepare starts afresh.
 */
export async function mountOverlay(
  lowers: readonly string[],
  upper: string,
  work: string,
  target: string,
  options: { volatile?: boolean } = {},
) {
  const plan = overlayMountPlan(lowers, upper, work);
  const data = options.volatile ? `${plan.options},volatile` : plan.options;
  await tool("mount", ["-t", "overlay", "overlay", "-o", data, target], plan.cwd);
}

/** Unmounts; a busy mount (a process still inside) is detached lazily rather than left behind. */
export async function unmount(target: string): Promise<void> {
  try {
    await tool("umount", [target]);
  } catch (e) {
    const msg = String((e as { stderr?: string }).stderr ?? e);
    if (/not mounted|no mount point|not found/i.test(msg)) return;
    await tool("umount", ["-l", target]);
  }
}

/** True when `target` is a mount point of this mount namespace. */
export async function isMounted(target: string): Promise<boolean> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const escaped = target.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
  return text.split("\n").some((line) => line.split(" ")[4] === escaped);
}
