import type { Stats } from "node:fs";
import { lstat, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { opaqueDirectories } from "../snapshot/opaque-dirs.ts";

/**
 * Looks paths up in a stack of overlay-format layer directories without mounting them, the way the
 * overlay would show them: the topmost entry wins, a whiteout (char device 0:0) hides the path, and a
 * directory marked opaque hides what the layers beneath have under it. Symlinks resolve inside the stack.
 */

export interface LayeredEntry {
  /** The host path of the visible entry, in the layer that provides it. */
  host: string;
  stats: Stats;
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

// Layer directories below the upper one never change, so their opaqueness is remembered by path and
// inode (the upper dir is fresh for each step and looked at first).
const opaqueCache = new Map<string, boolean>();
async function isOpaque(layer: string, rel: string, st: Stats): Promise<boolean> {
  const key = `${layer}\0${rel}\0${st.ino}\0${st.ctimeMs}`;
  let hit = opaqueCache.get(key);
  if (hit === undefined) {
    hit = (await opaqueDirectories(layer, [rel])).has(rel);
    if (opaqueCache.size > 10_000) opaqueCache.clear();
    opaqueCache.set(key, hit);
  }
  return hit;
}

/** The visible entry at `parts` (a path whose parents are directories, no symlinks), or undefined. */
export async function topEntry(layers: readonly string[], parts: readonly string[]) {
  for (const layer of layers) {
    const st = await lstatOrUndefined(join(layer, ...parts));
    if (st) return isWhiteout(st) ? undefined : { host: join(layer, ...parts), stats: st };
    // Absent here: does this layer hide the layers below at one of the parents?
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join("/");
      const parent = await lstatOrUndefined(join(layer, rel));
      if (!parent) break;
      if (!parent.isDirectory()) return undefined;
      if (await isOpaque(layer, rel, parent)) return undefined;
    }
  }
  return undefined;
}

const maxSymlinkHops = 255;

/**
 * Resolves `containerPath` in the stack (`layers` top first), following symlinks as the container would:
 * the resolved components and the visible entry there, if any.
 */
export async function resolveLayered(
  layers: readonly string[],
  containerPath: string,
): Promise<{ parts: string[]; entry: LayeredEntry | undefined }> {
  const pending = containerPath.split("/").filter((p) => p !== "" && p !== ".");
  const done: string[] = [];
  let entry: LayeredEntry | undefined;
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === "..") {
      done.pop();
      entry = done.length === 0 ? undefined : await topEntry(layers, done);
      continue;
    }
    entry = await topEntry(layers, [...done, part]);
    if (!entry) {
      done.push(part);
      for (const p of pending) p === ".." ? done.pop() : done.push(p);
      return { parts: done, entry: undefined };
    }
    if (!entry.stats.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++hops > maxSymlinkHops) throw new Error(`too many levels of symbolic links in ${containerPath}`);
    const target = await readlink(entry.host);
    if (target.startsWith("/")) done.length = 0;
    pending.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
    entry = undefined;
  }
  return { parts: done, entry };
}

/** Reads a regular file of the stack, or undefined when it is missing or not a file. */
export async function readLayeredFile(
  layers: readonly string[],
  containerPath: string,
): Promise<string | undefined> {
  const { entry } = await resolveLayered(layers, containerPath);
  return entry?.stats.isFile() ? readFile(entry.host, "utf8") : undefined;
}
