/**
 * Which directory a `RUN --mount=type=cache` gets: one per id and execution platform, so that an arm64
 * step never finds the objects an amd64 step compiled (BuildKit shares by id alone: buildkit#2598). A
 * mount that names an `id` and says `sharing=shared` (graph `acrossPlatforms`) keeps one directory for
 * every platform, under the name every cache directory had before this split, so such caches on an
 * existing state dir keep their contents. Steps of a `FROM --platform=$BUILDPLATFORM` stage all run on
 * the build platform, so they share one directory whatever the target platform.
 */
import { createHash } from "node:crypto";
import type { BuildGraph, CacheMount } from "../graph/types.ts";
import { formatPlatform, type Platform } from "../oci/platform.ts";

/** A cache mount's identity: its id, and the platform it belongs to (none: every platform's). */
export interface CacheMountKey {
  id: string;
  /** `os/arch[/variant]`, normalised; undefined for a mount shared across platforms. */
  platform: string | undefined;
}

export function cacheMountKey(
  m: Pick<CacheMount, "id" | "acrossPlatforms">,
  platform: Platform,
): CacheMountKey {
  return { id: m.id, platform: m.acrossPlatforms ? undefined : formatPlatform(platform) };
}

/** The directory's name under cache-mounts/ (and its lock's): hex, never a path taken from the Dockerfile. */
export function cacheMountDirName(key: CacheMountKey): string {
  // NUL cannot occur in a platform; an id may hold anything else, so the two never run together.
  const text = key.platform === undefined ? key.id : `${key.id}\u0000${key.platform}`;
  return createHash("sha256").update(text).digest("hex");
}

/** Every cache mount the RUN steps of `graph` use, once each, sorted by id then platform. */
export function cacheMountsOf(graph: BuildGraph): CacheMountKey[] {
  const keys = new Map<string, CacheMountKey>();
  for (const v of Object.values(graph.vertices)) {
    if (v.op.kind !== "exec") continue;
    for (const m of v.op.mounts) {
      if (m.type !== "cache") continue;
      const key = cacheMountKey(m, v.op.platform);
      keys.set(cacheMountDirName(key), key);
    }
  }
  return [...keys.values()].sort((a, b) =>
    a.id !== b.id ? (a.id < b.id ? -1 : 1) : (a.platform ?? "") < (b.platform ?? "") ? -1 : 1,
  );
}
