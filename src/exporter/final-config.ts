/**
 * The image config as exported: the planner's config with the platform written in, rootfs.diff_ids of every
 * layer, and `created` times. Times follow BuildKit: the base image's history entries keep theirs; new entries
 * get SOURCE_DATE_EPOCH when given (a later time is clamped to it), else the export's time; the config's
 * `created` is the epoch, else the last history time.
 */
import type { HistoryEntry, ImageConfig } from "../oci/image-config.ts";
import { normalizePlatform } from "../oci/platform.ts";
import { epochDate, formatCreated, isAfterEpoch } from "./timestamps.ts";
import type { BuiltImage, BuiltLayer } from "./types.ts";

export interface ConfigTimes {
  /** SOURCE_DATE_EPOCH in seconds. */
  epoch?: number;
  now: Date;
}

/** `layers` are the new layers as exported (their diff_ids change when rewrite-timestamp rewrote them). */
export function finalConfig(
  image: BuiltImage,
  layers: readonly BuiltLayer[],
  times: ConfigTimes,
): ImageConfig {
  checkBaseDiffIds(image);
  const p = normalizePlatform(image.platform);
  const { created: _planned, variant: _v, "os.version": _ov, "os.features": _of, ...rest } = image.config;
  const config: ImageConfig = { ...rest, architecture: p.architecture, os: p.os };
  if (p.variant) config.variant = p.variant;
  if (p["os.version"]) config["os.version"] = p["os.version"];
  if (p["os.features"]?.length) config["os.features"] = p["os.features"];
  config.rootfs = {
    type: "layers",
    diff_ids: [...image.baseLayers.map((l) => l.diffId), ...layers.map((l) => l.diffId)],
  };

  const stamp = formatCreated(times.epoch === undefined ? times.now : epochDate(times.epoch));
  const history = image.config.history;
  if (history) {
    const base = baseHistoryLength(image);
    checkNewHistory(image, history.slice(base));
    config.history = history.map((entry, i): HistoryEntry => {
      if (i < base) return { ...entry };
      const keep =
        entry.created !== undefined &&
        (times.epoch === undefined || !isAfterEpoch(entry.created, times.epoch));
      return keep ? { ...entry } : { ...entry, created: stamp };
    });
  }
  const lastCreated = config.history?.findLast((h) => h.created !== undefined)?.created;
  config.created = times.epoch !== undefined ? stamp : (lastCreated ?? stamp);
  return config;
}

export function baseHistoryLength(image: BuiltImage): number {
  const history = image.config.history ?? [];
  if (image.baseHistoryLength !== undefined) return Math.min(image.baseHistoryLength, history.length);
  const firstNew = history.findIndex((h) => h.created === undefined);
  return firstNew < 0 ? history.length : firstNew;
}

function checkBaseDiffIds(image: BuiltImage): void {
  const planned = image.config.rootfs?.diff_ids ?? [];
  const base = image.baseLayers.map((l) => l.diffId);
  if (planned.length !== base.length || planned.some((d, i) => d !== base[i])) {
    throw new Error(
      `exporter: the config's rootfs.diff_ids (${planned.length}) are not the base image's layers (${base.length}) for ${image.config.os}/${image.config.architecture}`,
    );
  }
}

function checkNewHistory(image: BuiltImage, entries: readonly HistoryEntry[]): void {
  const nonEmpty = entries.filter((h) => !h.empty_layer).length;
  if (nonEmpty !== image.layers.length) {
    throw new Error(
      `exporter: ${image.layers.length} new layers but ${nonEmpty} non-empty history entries after the base image's for ${image.config.os}/${image.config.architecture}`,
    );
  }
}
