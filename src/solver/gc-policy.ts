/**
 * What a prune or an automatic collection removes, decided from the store's entries alone (pure: the
 * store's state comes in, a list of entries to remove comes out; store-gc.ts does the removing).
 *
 * As BuildKit: entries are removed least recently used first; `--filter until=DURATION` spares entries
 * used more recently than that; `--filter type=T` only considers those types; `--keep-storage SIZE` stops
 * once what is left is no more than SIZE. Entries in use by a running build are never chosen, nor (without
 * `--all`) the layer records a stored image's layers came from.
 *
 * The automatic policy follows BuildKit's default: first, context uploads, cache mounts and git checkouts
 * unused for 48 hours beyond 512 MB; then anything, least recently used first, beyond the limit (by
 * default 10% of the state directory's filesystem, at most 20 GB).
 */
import { UserError } from "../errors/user-error.ts";

/** One removable thing in the state dir, as `polyarch du` lists it. */
export interface UsageEntry {
  /** A snapshot name, `layer:KEYHEX` or `mount:NAME`. */
  id: string;
  kind: "snapshot" | "layer" | "cache-mount" | "context-index";
  /** BuildKit's record types (regular, source.local, source.git.checkout, exec.cachemount) and `layer`. */
  type: string;
  description: string;
  /** Bytes on disk. */
  size: number;
  createdMs: number;
  lastUsedMs: number;
  /** How many records name it (a lower snapshot of later steps is named by each of them). */
  usageCount: number;
  /** Another entry or a stored image needs the same bytes, so removing it alone may free less. */
  shared: boolean;
  /** A running build may be using it: never removed. */
  inUse: boolean;
  /** A stored image's layer: kept unless --all (removing it frees nothing, and a rebuild needs it). */
  forImage: boolean;
}

export interface PruneFilters {
  /** Only entries of these types (none: every type). */
  types?: readonly string[];
  /** Only entries unused for at least this long (ms). */
  unusedForMs?: number;
  /** Only entries whose id starts with this. */
  id?: string;
}

export interface PruneRequest {
  all: boolean;
  filters: PruneFilters;
  /** Stop once what is left is no more than this many bytes. */
  keepStorageBytes?: number;
}

export const knownTypes = ["regular", "source.local", "source.git.checkout", "exec.cachemount", "layer"];

/**
 * The entries to remove, in removal order. `totalBytes` is what the state dir holds now (entries and
 * everything else, such as stored images), which --keep-storage compares with.
 */
export function selectForPrune(
  entries: readonly UsageEntry[],
  request: PruneRequest,
  nowMs: number,
  totalBytes: number,
): UsageEntry[] {
  const { filters } = request;
  const candidates = entries
    .filter((e) => !e.inUse && (request.all || !e.forImage))
    .filter((e) => !filters.types?.length || filters.types.includes(e.type))
    .filter((e) => filters.unusedForMs === undefined || nowMs - e.lastUsedMs >= filters.unusedForMs)
    .filter((e) => filters.id === undefined || e.id.startsWith(filters.id))
    .sort((a, b) => a.lastUsedMs - b.lastUsedMs || a.id.localeCompare(b.id));
  if (request.keepStorageBytes === undefined) return candidates;
  const chosen: UsageEntry[] = [];
  let left = totalBytes;
  for (const e of candidates) {
    if (left <= request.keepStorageBytes) break;
    chosen.push(e);
    left -= e.size;
  }
  return chosen;
}

/** The automatic collection's rules, applied in order (each one a prune request). */
export function defaultRules(keepStorageBytes: number): PruneRequest[] {
  return [
    {
      all: false,
      filters: {
        types: ["source.local", "exec.cachemount", "source.git.checkout"],
        unusedForMs: 48 * 3600 * 1000,
      },
      keepStorageBytes: Math.min(512 * 1024 ** 2, keepStorageBytes),
    },
    { all: false, filters: {}, keepStorageBytes },
  ];
}

/** The default limit: 10% of the filesystem, at most 20 GB; 2 GB when its size is unknown. */
export function defaultKeepStorage(diskBytes: number | undefined): number {
  if (!diskBytes || !Number.isFinite(diskBytes)) return 2 * 1024 ** 3;
  return Math.min(Math.floor(diskBytes / 10), 20 * 1024 ** 3);
}

/**
 * A size as Docker's --keep-storage reads it (go-units RAMInBytes: binary multiples): `10GB`, `512m`,
 * `1.5g`, `0`, bytes without a unit.
 */
export function parseSize(text: string, where: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?(i?b)?$/i.exec(text.trim());
  if (!m) {
    throw new UserError(`${where}: invalid size ${JSON.stringify(text)}`, {
      hint: "give a size such as 512MB, 10GB or a number of bytes",
    });
  }
  const unit = (m[2] ?? "").toLowerCase() as "" | "k" | "m" | "g" | "t" | "p";
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[unit];
  return Math.floor(Number(m[1]) * mult);
}

/** A Go duration (`24h`, `90m`, `1h30m`, `10s`), as buildx's `until=` takes it, in ms. */
export function parseDuration(text: string, where: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const t = text.trim();
  let total = 0;
  let rest = t;
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m) {
      throw new UserError(`${where}: invalid duration ${JSON.stringify(text)}`, {
        hint: "give a duration such as 24h, 90m or 1h30m",
      });
    }
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  if (t.length === 0)
    throw new UserError(`${where}: empty duration`, { hint: "give a duration such as 24h" });
  return total;
}

/** `--filter` values as buildx spells them: `type=T` (or `type==T`), `until=DUR`, `unused-for=DUR`, `id=ID`. */
export function parseFilters(values: readonly string[]): PruneFilters {
  const out: { types?: string[]; unusedForMs?: number; id?: string } = {};
  const types: string[] = [];
  for (const v of values) {
    const m = /^([a-z-]+)(==?|!=)(.*)$/.exec(v);
    if (!m || m[2] === "!=") {
      throw new UserError(`invalid --filter ${JSON.stringify(v)}`, {
        hint: "write KEY=VALUE: type=exec.cachemount, until=24h, id=ID",
      });
    }
    const [, key, , value] = m as unknown as [string, string, string, string];
    if (key === "type") {
      for (const t of value.split(",")) {
        if (!knownTypes.includes(t)) {
          throw new UserError(`--filter type=${t}: not a type polyarch keeps`, {
            hint: `the types are ${knownTypes.join(", ")}`,
          });
        }
        types.push(t);
      }
    } else if (key === "until" || key === "unused-for") {
      out.unusedForMs = parseDuration(value, `--filter ${key}`);
    } else if (key === "id") {
      out.id = value;
    } else {
      throw new UserError(`--filter ${key}: not a filter polyarch knows`, {
        hint: "the filters are type=, until= (or unused-for=) and id=",
      });
    }
  }
  if (types.length > 0) out.types = types;
  return out;
}
