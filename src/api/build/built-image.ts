import type { PlatformPlan } from "../../dockerfile/plan/types.ts";
import { formatCreated } from "../../exporter/timestamps.ts";
import type { BuiltImage, BuiltLayer } from "../../exporter/types.ts";
import type { HistoryEntry } from "../../oci/image-config.ts";
import type { SolvedPlatform } from "../../solver/types.ts";

/**
 * One platform's image for the exporter: the planner's config, the base image's layers, and the layers the
 * solver exported.
 *
 * - A layer vertex that changed nothing gives no layer (as BuildKit); its history entry is then marked
 *   `empty_layer`, so history and rootfs.diff_ids stay consistent.
 * - New history entries get the time their layer was made (kept in the cache), entries without a layer
 *   the time of the layer before them (or after, for leading ones), as BuildKit does: a cached rebuild
 *   then gives the same config, manifest and index digests. The exporter clamps them to
 *   SOURCE_DATE_EPOCH when one is given.
 */
export function builtImage(
  plan: PlatformPlan,
  solved: SolvedPlatform,
  base: { historyLength: number; created: string | undefined },
): BuiltImage {
  // A node that ran its own frontend made the whole image: its config and layers are taken as they are.
  if (solved.image) {
    const config = structuredClone(solved.image);
    config.rootfs = { type: "layers", diff_ids: solved.baseLayers.map((l) => l.diffId) };
    return {
      platform: plan.platform,
      config,
      baseLayers: solved.baseLayers,
      layers: [],
      baseHistoryLength: config.history?.length ?? 0,
    };
  }
  const config = structuredClone(plan.image);
  const history = config.history ?? [];
  // The layer vertices are the last non-empty history entries, in order (the base image's come first).
  const withLayer = history.flatMap((h, i) => (h.empty_layer ? [] : [i]));
  const mine = withLayer.slice(withLayer.length - plan.layerVertices.length);
  if (mine.length !== plan.layerVertices.length || solved.layers.length !== plan.layerVertices.length) {
    throw new Error(
      `build: ${plan.layerVertices.length} layer steps but ${mine.length} history entries with a layer`,
    );
  }
  const layers: BuiltLayer[] = [];
  const created = new Map<number, string>();
  solved.layers.forEach((result, i) => {
    const entry = history[mine[i]!]!;
    if (result.layer === null) entry.empty_layer = true;
    else layers.push(result.layer);
    if (result.created !== undefined) created.set(mine[i]!, formatCreated(new Date(result.created)));
  });
  fillCreated(history, base.historyLength, created, base.created);
  return {
    platform: plan.platform,
    config,
    baseLayers: solved.baseLayers,
    layers,
    baseHistoryLength: base.historyLength,
  };
}

function fillCreated(
  history: HistoryEntry[],
  from: number,
  layerTimes: ReadonlyMap<number, string>,
  fallback: string | undefined,
): void {
  let last: string | undefined;
  const pending: HistoryEntry[] = [];
  for (let i = from; i < history.length; i++) {
    const entry = history[i]!;
    const t = layerTimes.get(i);
    if (t !== undefined) {
      for (const p of pending.splice(0)) p.created = t;
      entry.created = t;
      last = t;
    } else if (last !== undefined) entry.created = last;
    else pending.push(entry);
  }
  // No layer in this build at all: the base image's time keeps the config stable across rebuilds.
  if (fallback !== undefined) for (const p of pending) p.created = fallback;
}
