import type { ProgressEvent, ProgressSink } from "./events.ts";
import { LineSplitter } from "./log-lines.ts";
import type { ResolvedOptions } from "./options.ts";
import { createRedactor, type Redactor } from "./redact.ts";
import { writeAndWait } from "./write.ts";

/**
 * Field order of the JSON lines: fixed, so the output is stable whatever order the solver built its objects
 * in. Fields added to the events later come after these, sorted.
 */
const ORDER = [
  "type",
  "id",
  "statusId",
  "name",
  "platform",
  "emulated",
  "stream",
  "data",
  "current",
  "total",
  "unit",
  "done",
  "durationMs",
  "platforms",
  "message",
  "detail",
  "url",
  "location",
  "error",
  "at",
];
const RANK = new Map(ORDER.map((k, i) => [k, i]));

/** An event as one line of JSON; log bytes are base64, as in BuildKit's SolveStatus JSON. */
export function eventJson(e: ProgressEvent): string {
  const record: Record<string, unknown> = { ...e };
  if (e.type === "vertex.log")
    record.data = Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString("base64");
  const keys = Object.keys(record).sort(
    (a, b) => (RANK.get(a) ?? 999) - (RANK.get(b) ?? 999) || (a < b ? -1 : a > b ? 1 : 0),
  );
  const ordered: Record<string, unknown> = {};
  for (const k of keys) ordered[k] = record[k];
  return JSON.stringify(ordered);
}

/**
 * `--progress=rawjson`: every event as a line of JSON, for tools. With values to redact, output is re-cut at
 * line breaks so a value split across two chunks is still masked; otherwise chunks pass through untouched.
 * The closing `build.done` line is the summary.
 */
export class RawJsonRenderer implements ProgressSink {
  readonly #out: NodeJS.WritableStream;
  readonly #redact: Redactor;
  readonly #clock: () => number;
  readonly #splitters = new Map<string, LineSplitter>();
  #closed = false;

  constructor(out: NodeJS.WritableStream, options: ResolvedOptions) {
    this.#out = out;
    this.#clock = options.clock;
    this.#redact = createRedactor(options.redact);
  }

  emit(e: ProgressEvent): void {
    if (this.#closed) return;
    const lines = this.#handle(e).map(eventJson);
    if (lines.length > 0) this.#out.write(`${lines.join("\n")}\n`);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const at = this.#clock();
    const lines: string[] = [];
    for (const key of [...this.#splitters.keys()]) lines.push(...this.#flush(key, at).map(eventJson));
    return lines.length > 0 ? writeAndWait(this.#out, `${lines.join("\n")}\n`) : Promise.resolve();
  }

  #handle(e: ProgressEvent): ProgressEvent[] {
    const r = this.#redact;
    if (r.longest === 0) return [e];
    switch (e.type) {
      case "vertex.log": {
        const key = `${e.stream}\u0000${e.id}`;
        let splitter = this.#splitters.get(key);
        if (!splitter) {
          splitter = new LineSplitter({ redact: r, collapseCarriageReturns: false });
          this.#splitters.set(key, splitter);
        }
        return splitter.push(e.data).map((p) => ({ ...e, data: Buffer.from(p.text) }));
      }
      case "vertex.done": {
        const flushed = [...this.#splitters.keys()]
          .filter((key) => key.endsWith(`\u0000${e.id}`))
          .flatMap((key) => this.#flush(key, e.at));
        return [...flushed, e.error === undefined ? e : { ...e, error: r(e.error) }];
      }
      case "vertex.start":
      case "vertex.cached":
      case "vertex.status":
        return [{ ...e, name: r(e.name) }];
      case "warning":
        return [{ ...e, message: r(e.message), ...(e.detail === undefined ? {} : { detail: r(e.detail) }) }];
      case "build.done": {
        const flushed = [...this.#splitters.keys()].flatMap((key) => this.#flush(key, e.at));
        return [...flushed, e.error === undefined ? e : { ...e, error: r(e.error) }];
      }
      case "build.start":
        return [e];
    }
  }

  #flush(key: string, at: number): ProgressEvent[] {
    const splitter = this.#splitters.get(key)!;
    this.#splitters.delete(key);
    const sep = key.indexOf("\u0000");
    const stream = key.slice(0, sep) as "stdout" | "stderr";
    const id = key.slice(sep + 1);
    return splitter.flush().map((p) => ({ type: "vertex.log", id, stream, data: Buffer.from(p.text), at }));
  }
}
