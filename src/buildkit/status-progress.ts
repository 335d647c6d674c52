import type { ProgressEvent } from "../progress/events.ts";
import type { StatusResponse, Timestamp } from "./wire.ts";

/**
 * Turns the daemon's status stream into polyarch's progress events. Each step's id and name carry the
 * node's name, so the steps of several nodes interleave in one display and each line says where it ran.
 * BuildKit resends a vertex whenever it changes; this keeps what was already said per vertex.
 */
export class StatusTranslator {
  readonly #node: string;
  readonly #now: () => number;
  readonly #said = new Map<string, { started?: boolean; done?: boolean; startedAt?: number }>();

  constructor(node: string, now: () => number = Date.now) {
    this.#node = node;
    this.#now = now;
  }

  #id(digest: string): string {
    return `${this.#node}:${digest}`;
  }

  translate(status: StatusResponse): ProgressEvent[] {
    const out: ProgressEvent[] = [];
    const now = this.#now();
    for (const v of status.vertexes) {
      const seen = this.#said.get(v.digest) ?? {};
      this.#said.set(v.digest, seen);
      const id = this.#id(v.digest);
      const name = `[${this.#node}] ${v.name}`;
      const platform = /^\[(\w+\/[\w.-]+(?:\/\w+)?)[ \]]/.exec(v.name)?.[1];
      const extra = platform?.startsWith("linux/") ? { platform } : {};
      if (v.cached && !seen.started && !seen.done) {
        seen.done = true;
        out.push({ type: "vertex.cached", id, name, ...extra, at: now });
        continue;
      }
      if (v.started && !seen.started) {
        seen.started = true;
        seen.startedAt = ms(v.started);
        out.push({ type: "vertex.start", id, name, ...extra, at: now });
      }
      if (v.completed && seen.started && !seen.done) {
        seen.done = true;
        const durationMs = Math.max(0, ms(v.completed) - (seen.startedAt ?? ms(v.completed)));
        out.push({
          type: "vertex.done",
          id,
          durationMs,
          ...(v.error ? { error: v.error } : {}),
          at: now,
        });
      }
    }
    for (const s of status.statuses) {
      out.push({
        type: "vertex.status",
        id: this.#id(s.vertex),
        statusId: s.id,
        name: s.name || s.id,
        current: s.current,
        ...(s.total ? { total: s.total } : {}),
        ...(s.completed ? { done: true } : {}),
        at: now,
      });
    }
    for (const l of status.logs) {
      out.push({
        type: "vertex.log",
        id: this.#id(l.vertex),
        stream: l.stream === 2 ? "stderr" : "stdout",
        data: new Uint8Array(l.msg),
        at: now,
      });
    }
    for (const w of status.warnings) {
      const detail = w.detail.map((d) => d.toString("utf8")).join("\n");
      out.push({
        type: "warning",
        message: `[${this.#node}] ${w.short.toString("utf8")}`,
        ...(w.vertex ? { id: this.#id(w.vertex) } : {}),
        ...(detail ? { detail } : {}),
        ...(w.url ? { url: w.url } : {}),
        at: now,
      });
    }
    return out;
  }
}

function ms(t: Timestamp): number {
  return t.seconds * 1000 + Math.floor(t.nanos / 1e6);
}
