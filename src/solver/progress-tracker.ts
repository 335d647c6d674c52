/**
 * Progress events for the solver's vertices, and the per-platform totals of the closing summary.
 * Vertex ids are the vertex digests; names are the planner's (`[linux/arm64 builder 3/5] RUN make`).
 */
import type { PlatformSummary, ProgressEvent, ProgressSink } from "../progress/events.ts";

interface Timing {
  start: number;
  end?: number;
  emulated: boolean;
}

export class ProgressTracker {
  readonly #sink: ProgressSink;
  readonly #clock: () => number;
  readonly #timings = new Map<string, Timing>();
  readonly #cached = new Set<string>();
  /** Each platform's vertices (named ones only: those are the steps a user sees). */
  readonly #platformSteps = new Map<string, Set<string>>();
  #inputs: ReadonlyMap<string, readonly string[]> = new Map();

  constructor(sink: ProgressSink, clock: () => number = Date.now) {
    this.#sink = sink;
    this.#clock = clock;
  }

  now(): number {
    return this.#clock();
  }

  emit(event: ProgressEvent): void {
    try {
      this.#sink.emit(event);
    } catch {
      // A sink must not throw; if one does, the build goes on without its display.
    }
  }

  /** The steps each step takes its inputs from (reported steps only), sent with its start or cache hit. */
  stepInputs(inputs: ReadonlyMap<string, readonly string[]>): void {
    this.#inputs = inputs;
  }

  #inputsOf(id: string): { inputs?: string[] } {
    const inputs = this.#inputs.get(id);
    return inputs && inputs.length > 0 ? { inputs: [...inputs] } : {};
  }

  /** Declares which steps belong to a platform (a shared step counts for each). */
  platformSteps(platform: string, ids: Iterable<string>): void {
    this.#platformSteps.set(platform, new Set(ids));
  }

  /** A step found in the cache; it may have been started already to show that it waited for a lock. */
  cached(id: string, name: string, platform: string | undefined, from?: string): void {
    this.#cached.add(id);
    const at = this.now();
    const t = this.#timings.get(id);
    if (t) t.end = at;
    this.emit({
      type: "vertex.cached",
      id,
      name,
      ...(platform ? { platform } : {}),
      ...(from ? { from } : {}),
      ...this.#inputsOf(id),
      at,
    });
  }

  start(id: string, name: string, platform: string | undefined, emulated = false): void {
    const at = this.now();
    this.#timings.set(id, { start: at, emulated });
    this.emit({
      type: "vertex.start",
      id,
      name,
      ...(platform ? { platform } : {}),
      ...(emulated ? { emulated } : {}),
      ...this.#inputsOf(id),
      at,
    });
  }

  log(id: string, stream: "stdout" | "stderr", data: Uint8Array): void {
    this.emit({ type: "vertex.log", id, stream, data, at: this.now() });
  }

  status(
    id: string,
    statusId: string,
    name: string,
    extra: { current?: number; total?: number; done?: boolean } = {},
  ): void {
    this.emit({ type: "vertex.status", id, statusId, name, ...extra, at: this.now() });
  }

  done(id: string, error?: string): void {
    const at = this.now();
    const t = this.#timings.get(id);
    if (t) t.end = at;
    this.emit({
      type: "vertex.done",
      id,
      durationMs: t ? at - t.start : 0,
      ...(error === undefined ? {} : { error }),
      at,
    });
  }

  summary(): PlatformSummary[] {
    const out: PlatformSummary[] = [];
    for (const [platform, ids] of this.#platformSteps) {
      let first = Number.POSITIVE_INFINITY;
      let last = Number.NEGATIVE_INFINITY;
      let cached = 0;
      let emulatedMs = 0;
      for (const id of ids) {
        if (this.#cached.has(id)) cached++;
        const t = this.#timings.get(id);
        if (!t) continue;
        const end = t.end ?? this.now();
        first = Math.min(first, t.start);
        last = Math.max(last, end);
        if (t.emulated) emulatedMs += end - t.start;
      }
      out.push({
        platform,
        durationMs: last >= first ? last - first : 0,
        steps: ids.size,
        cached,
        emulatedMs,
      });
    }
    return out;
  }
}
