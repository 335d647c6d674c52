import type { BuildDoneEvent, ProgressEvent, WarningEvent } from "./events.ts";
import { LineSplitter } from "./log-lines.ts";
import type { Redactor } from "./redact.ts";
import { sanitize } from "./text-width.ts";

/** One of a step's last output lines, cleaned for display. */
export interface TailLine {
  at: number;
  text: string;
}

export interface StatusState {
  statusId: string;
  name: string;
  current: number | undefined;
  total: number | undefined;
  unit: "bytes" | "items" | undefined;
  startAt: number;
  lastAt: number;
  done: boolean;
}

export interface VertexState {
  id: string;
  /** 1-based, in order of first appearance: the `#N` of plain output. */
  index: number;
  name: string;
  emulated: boolean;
  startAt: number | undefined;
  /** Set once the step is done, cached or failed. */
  endAt: number | undefined;
  durationMs: number | undefined;
  cached: boolean;
  error: string | undefined;
  statuses: Map<string, StatusState>;
  /** The last `keepLines` lines of output: bounded however much the step prints. */
  tail: TailLine[];
  splitters: Map<string, LineSplitter>;
}

/** A stored tail line is cut here: no terminal is this wide, and a chatty line must not cost memory. */
const MAX_STORED_LINE = 1000;
const MAX_WARNINGS = 1000;

/**
 * The build's state as the live view and quiet mode need it: steps in order of appearance with their
 * statuses and a bounded tail of output, warnings, and the closing summary.
 */
export class Tracker {
  readonly vertices = new Map<string, VertexState>();
  readonly warnings: WarningEvent[] = [];
  firstAt: number | undefined;
  planned: number | undefined;
  buildDone: BuildDoneEvent | undefined;
  readonly #redact: Redactor;
  readonly #keepLines: number;

  constructor(redact: Redactor, keepLines: number) {
    this.#redact = redact;
    this.#keepLines = keepLines;
  }

  /** Applies an event; returns the step it concerns, if any. */
  apply(e: ProgressEvent): VertexState | undefined {
    this.firstAt ??= e.at;
    switch (e.type) {
      case "build.start":
        this.firstAt = Math.min(this.firstAt, e.at);
        this.planned = e.total;
        return undefined;
      case "vertex.start": {
        const v = this.vertex(e.id, e.name);
        v.name = this.#redact(e.name);
        v.emulated = e.emulated ?? false;
        v.startAt = e.at;
        v.endAt = undefined;
        v.durationMs = undefined;
        v.error = undefined;
        v.cached = false;
        return v;
      }
      case "vertex.cached": {
        const v = this.vertex(e.id, e.name);
        v.cached = true;
        v.startAt ??= e.at;
        v.endAt = e.at;
        v.durationMs = 0;
        return v;
      }
      case "vertex.log": {
        const v = this.vertex(e.id);
        let splitter = v.splitters.get(e.stream);
        if (!splitter) {
          splitter = new LineSplitter({ redact: this.#redact });
          v.splitters.set(e.stream, splitter);
        }
        for (const piece of splitter.push(e.data)) this.#addLine(v, e.at, piece.text);
        return v;
      }
      case "vertex.status": {
        const v = this.vertex(e.id);
        let s = v.statuses.get(e.statusId);
        if (!s) {
          s = {
            statusId: e.statusId,
            name: "",
            current: undefined,
            total: undefined,
            unit: undefined,
            startAt: e.at,
            lastAt: e.at,
            done: false,
          };
          v.statuses.set(e.statusId, s);
        }
        s.name = this.#redact(e.name);
        s.current = e.current ?? s.current;
        s.total = e.total ?? s.total;
        s.unit = e.unit ?? s.unit;
        s.lastAt = e.at;
        s.done = e.done ?? s.done;
        return v;
      }
      case "vertex.done": {
        const v = this.vertex(e.id);
        this.#flushLogs(v, e.at);
        v.startAt ??= e.at - e.durationMs;
        v.endAt = e.at;
        v.durationMs = e.durationMs;
        if (e.error !== undefined) v.error = this.#redact(e.error);
        // A status the solver left open ends with its step.
        for (const s of v.statuses.values()) {
          if (!s.done) s.lastAt = e.at;
          s.done = true;
        }
        return v;
      }
      case "warning":
        if (this.warnings.length < MAX_WARNINGS) {
          this.warnings.push({
            ...e,
            message: this.#redact(e.message),
            detail: e.detail === undefined ? undefined : this.#redact(e.detail),
          });
        }
        return e.id === undefined ? undefined : this.vertices.get(e.id);
      case "build.done":
        for (const v of this.vertices.values()) this.#flushLogs(v, e.at);
        this.buildDone = { ...e, error: e.error === undefined ? undefined : this.#redact(e.error) };
        return undefined;
    }
  }

  /** The step with this id, created on first sight (logs may in theory arrive before its start). */
  vertex(id: string, name = id): VertexState {
    let v = this.vertices.get(id);
    if (!v) {
      v = {
        id,
        index: this.vertices.size + 1,
        name: this.#redact(name),
        emulated: false,
        startAt: undefined,
        endAt: undefined,
        durationMs: undefined,
        cached: false,
        error: undefined,
        statuses: new Map(),
        tail: [],
        splitters: new Map(),
      };
      this.vertices.set(id, v);
    }
    return v;
  }

  /** Steps finished (run, cached or failed) and steps known or planned, for "(7/12)". */
  counts(): { completed: number; total: number } {
    let completed = 0;
    for (const v of this.vertices.values()) if (v.endAt !== undefined) completed++;
    return { completed, total: Math.max(this.planned ?? 0, this.vertices.size) };
  }

  #flushLogs(v: VertexState, at: number): void {
    for (const splitter of v.splitters.values())
      for (const p of splitter.flush()) this.#addLine(v, at, p.text);
    v.splitters.clear();
  }

  #addLine(v: VertexState, at: number, text: string): void {
    if (this.#keepLines <= 0) return;
    v.tail.push({ at, text: sanitize(text).slice(0, MAX_STORED_LINE) });
    if (v.tail.length > this.#keepLines) v.tail.splice(0, v.tail.length - this.#keepLines);
  }
}
