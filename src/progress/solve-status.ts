/**
 * Our progress events in BuildKit's `client.SolveStatus` shape (vertexes, statuses, logs, warnings), the
 * JSON that `buildctl`/`buildx --progress=rawjson` print and that `--metadata-file`'s
 * `buildx.build.warnings` holds, so tools written for BuildKit read ours. Vertex ids that are not digests
 * (`export-1`, `metadata:…`) become a stable digest of the id, since BuildKit's readers key vertices by digest.
 */
import { createHash } from "node:crypto";
import type { ProgressEvent, WarningEvent } from "./events.ts";
import { warningShort } from "./summary.ts";

type Json = Record<string, unknown>;

/** BuildKit marshals with Go's encoder: times as RFC 3339 with nanoseconds. */
function time(ms: number): string {
  return new Date(ms).toISOString();
}

export function vertexDigest(id: string): string {
  return /^sha256:[a-f0-9]{64}$/.test(id) ? id : `sha256:${createHash("sha256").update(id).digest("hex")}`;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/**
 * client.VertexWarning: level 1 (a warning), short/detail as base64 bytes, the Dockerfile range. `short` ends
 * with `(line N)` as BuildKit's lint formats it, since buildx prints `short` alone.
 */
export function vertexWarning(w: WarningEvent): Json {
  const out: Json = {};
  if (w.id !== undefined) out.vertex = vertexDigest(w.id);
  out.level = 1;
  out.short = b64(warningShort(w));
  if (w.detail) out.detail = [b64(w.detail)];
  if (w.url) out.url = w.url;
  if (w.location) {
    out.sourceInfo = { filename: w.location.file, language: "Dockerfile" };
    const pos = { line: w.location.line, ...(w.location.column ? { character: w.location.column } : {}) };
    out.range = [{ start: pos, end: pos }];
  }
  return out;
}

/**
 * Turns events into SolveStatus objects, remembering what BuildKit repeats: a vertex is sent again when it
 * completes (with its start time), a status carries its start time on every update.
 */
export class SolveStatusMapper {
  readonly #vertices = new Map<string, { name: string; started: number; inputs?: string[] }>();
  readonly #statuses = new Map<string, number>();

  map(e: ProgressEvent): Json | undefined {
    switch (e.type) {
      case "vertex.start": {
        const inputs = e.inputs?.map(vertexDigest);
        this.#vertices.set(e.id, { name: e.name, started: e.at, ...(inputs ? { inputs } : {}) });
        const vertex: Json = { digest: vertexDigest(e.id) };
        if (inputs) vertex.inputs = inputs;
        vertex.name = e.name;
        vertex.started = time(e.at);
        return { vertexes: [vertex] };
      }
      case "vertex.cached":
        return {
          vertexes: [
            {
              digest: vertexDigest(e.id),
              ...(e.inputs ? { inputs: e.inputs.map(vertexDigest) } : {}),
              name: e.name,
              started: time(e.at),
              completed: time(e.at),
              cached: true,
            },
          ],
        };
      case "vertex.done": {
        const v = this.#vertices.get(e.id);
        const started = v?.started ?? e.at - e.durationMs;
        const vertex: Json = { digest: vertexDigest(e.id) };
        if (v?.inputs) vertex.inputs = v.inputs;
        if (v?.name) vertex.name = v.name;
        vertex.started = time(started);
        vertex.completed = time(e.at);
        if (e.error !== undefined) vertex.error = e.error;
        return { vertexes: [vertex] };
      }
      case "vertex.log":
        return {
          logs: [
            {
              vertex: vertexDigest(e.id),
              stream: e.stream === "stdout" ? 1 : 2,
              data: Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString("base64"),
              timestamp: time(e.at),
            },
          ],
        };
      case "vertex.status": {
        const key = `${e.id}\u0000${e.statusId}`;
        const started = this.#statuses.get(key) ?? e.at;
        this.#statuses.set(key, started);
        const status: Json = { id: e.statusId, vertex: vertexDigest(e.id), name: e.name };
        if (e.total) status.total = e.total;
        status.current = e.current ?? 0;
        status.timestamp = time(e.at);
        status.started = time(started);
        if (e.done) status.completed = time(e.at);
        return { statuses: [status] };
      }
      case "warning":
        return { warnings: [vertexWarning(e)] };
      default:
        // build.start and build.done have no SolveStatus form.
        return undefined;
    }
  }
}

/** Go's encoder escapes these in strings; BuildKit's output has them escaped too. */
export function goEncode(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
