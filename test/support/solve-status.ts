/**
 * Reads `--progress=rawjson` output (BuildKit's SolveStatus, one object a line) as a buildx-style consumer
 * does: vertices merged by digest, logs decoded, warnings' base64 fields decoded.
 */

export interface RawVertex {
  digest: string;
  name?: string;
  inputs?: string[];
  started?: string;
  completed?: string;
  cached?: boolean;
  error?: string;
}
export interface RawStatus {
  id: string;
  vertex?: string;
  name?: string;
  total?: number;
  current: number;
  timestamp: string;
  started?: string;
  completed?: string;
}
export interface RawLog {
  vertex?: string;
  stream?: number;
  data: string;
  timestamp: string;
}
export interface RawWarning {
  vertex?: string;
  level?: number;
  short?: string;
  detail?: string[];
  url?: string;
  sourceInfo?: { filename?: string; data?: string; language?: string };
  range?: { start: { line?: number; character?: number }; end: { line?: number; character?: number } }[];
}
export interface SolveStatus {
  vertexes?: RawVertex[];
  statuses?: RawStatus[];
  logs?: RawLog[];
  warnings?: RawWarning[];
}

/** Every JSON line of `text` (other lines, such as a closing error, are skipped). */
export function solveStatuses(text: string): SolveStatus[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as SolveStatus);
}

/** Every vertex record, in order. */
export const vertexRecords = (lines: SolveStatus[]): RawVertex[] => lines.flatMap((l) => l.vertexes ?? []);

/** Names of the vertices that ran (were started and not cached), once each. */
export function ranNames(lines: SolveStatus[]): string[] {
  const seen = new Map<string, string>();
  for (const v of vertexRecords(lines))
    if (v.started && !v.cached && !seen.has(v.digest)) seen.set(v.digest, v.name ?? "");
  return [...seen.values()];
}

/** Names of the vertices that came from the cache. */
export const cachedNames = (lines: SolveStatus[]): string[] =>
  vertexRecords(lines)
    .filter((v) => v.cached)
    .map((v) => v.name ?? "");

/** The output of every vertex, decoded, keyed by vertex digest. */
export function logsByVertex(lines: SolveStatus[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines.flatMap((s) => s.logs ?? []))
    out.set(l.vertex ?? "", (out.get(l.vertex ?? "") ?? "") + Buffer.from(l.data, "base64").toString());
  return out;
}

/** The warnings' one-line texts, decoded. */
export const warningShorts = (lines: SolveStatus[]): string[] =>
  lines.flatMap((l) => l.warnings ?? []).map((w) => Buffer.from(w.short ?? "", "base64").toString());
