import type { ProgressEvent, ProgressSink } from "./events.ts";
import { LineSplitter } from "./log-lines.ts";
import type { ResolvedOptions } from "./options.ts";
import { createRedactor, type Redactor } from "./redact.ts";
import { goEncode, SolveStatusMapper } from "./solve-status.ts";
import { writeAndWait } from "./write.ts";

/**
 * `--progress=rawjson`: one BuildKit `SolveStatus` object per line (vertexes, statuses, logs, warnings), as
 * `buildctl` and `buildx` print them, so tools written for their output read ours. The build's start and
 * end have no SolveStatus form and print nothing; the exit status says how the build ended.
 *
 * With values to redact, log output is re-cut at line breaks so a value split across two chunks is still
 * masked; otherwise chunks pass through untouched.
 */
export class RawJsonRenderer implements ProgressSink {
  readonly #out: NodeJS.WritableStream;
  readonly #redact: Redactor;
  readonly #clock: () => number;
  readonly #mapper = new SolveStatusMapper();
  readonly #splitters = new Map<string, LineSplitter>();
  #closed = false;

  constructor(out: NodeJS.WritableStream, options: ResolvedOptions) {
    this.#out = out;
    this.#clock = options.clock;
    this.#redact = createRedactor(options.redact);
  }

  emit(e: ProgressEvent): void {
    if (this.#closed) return;
    const text = this.#lines(this.#handle(e));
    if (text !== "") this.#out.write(text);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const at = this.#clock();
    const text = this.#lines([...this.#splitters.keys()].flatMap((key) => this.#flush(key, at)));
    return text !== "" ? writeAndWait(this.#out, text) : Promise.resolve();
  }

  #lines(events: ProgressEvent[]): string {
    let text = "";
    for (const e of events) {
      const status = this.#mapper.map(e);
      if (status !== undefined) text += `${goEncode(status)}\n`;
    }
    return text;
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
      case "build.done":
        return [...this.#splitters.keys()].flatMap((key) => this.#flush(key, e.at));
      case "build.start":
        return [];
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
