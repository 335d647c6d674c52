import type { ProgressEvent, ProgressSink, VertexStatusEvent, WarningEvent } from "./events.ts";
import { amount, logOffset, seconds } from "./format.ts";
import { LineSplitter } from "./log-lines.ts";
import type { ResolvedOptions } from "./options.ts";
import { createRedactor, type Redactor } from "./redact.ts";
import { summaryLines, warningLines, warningText } from "./summary.ts";
import { writeAndWait } from "./write.ts";

interface PlainStatus {
  startAt: number;
  events: number;
  /** When this status was last printed, if it was. */
  printedAt: number | undefined;
  last: VertexStatusEvent;
  finished: boolean;
}

interface PlainVertex {
  index: number;
  name: string;
  startAt: number;
  complete: boolean;
  splitters: Map<string, LineSplitter>;
  statuses: Map<string, PlainStatus>;
}

/**
 * BuildKit's plain output: a block per step headed `#N name`, its output lines prefixed with `#N` and the
 * seconds since it started, then `#N DONE 2.1s`, `#N CACHED` or `#N ERROR: …`. When output switches to
 * another step, an unfinished block ends with `#N ...` and the step's header is printed again when it
 * resumes. Output is written as it comes: nothing is held but an unterminated line.
 */
export class PlainRenderer implements ProgressSink {
  readonly #out: NodeJS.WritableStream;
  readonly #options: ResolvedOptions;
  readonly #redact: Redactor;
  readonly #vertices = new Map<string, PlainVertex>();
  readonly #warnings: WarningEvent[] = [];
  #current: PlainVertex | undefined;
  #started = false;
  #closed = false;
  #pending: string[] = [];

  constructor(out: NodeJS.WritableStream, options: ResolvedOptions) {
    this.#out = out;
    this.#options = options;
    this.#redact = createRedactor(options.redact);
  }

  emit(e: ProgressEvent): void {
    if (this.#closed) return;
    this.#handle(e);
    this.#write();
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const v of this.#vertices.values()) this.#flushLogs(v, this.#options.clock());
    const text = this.#take();
    return writeAndWait(this.#out, text);
  }

  #handle(e: ProgressEvent): void {
    switch (e.type) {
      case "build.start":
        return;
      case "vertex.start": {
        const v = this.#vertex(e.id, e.name);
        v.name = this.#redact(e.name) + (e.emulated ? " (emulated)" : "");
        v.startAt = e.at;
        v.complete = false;
        this.#enter(v);
        return;
      }
      case "vertex.cached": {
        const v = this.#vertex(e.id, e.name);
        this.#line(v, e.from ? `CACHED (from ${this.#redact(e.from)})` : "CACHED");
        v.complete = true;
        return;
      }
      case "vertex.log": {
        const v = this.#vertex(e.id);
        let splitter = v.splitters.get(e.stream);
        if (!splitter) {
          splitter = new LineSplitter({ redact: this.#redact });
          v.splitters.set(e.stream, splitter);
        }
        for (const piece of splitter.push(e.data))
          this.#line(v, `${logOffset(e.at - v.startAt)} ${piece.text}`);
        return;
      }
      case "vertex.status":
        this.#status(e);
        return;
      case "vertex.done": {
        const v = this.#vertex(e.id);
        this.#flushLogs(v, e.at);
        for (const s of v.statuses.values()) {
          if (!s.finished && s.printedAt !== s.last.at) this.#printStatus(v, s, s.last.at, true);
        }
        if (e.error === undefined) this.#line(v, `DONE ${seconds(e.durationMs)}`);
        else {
          const [first, ...rest] = this.#redact(e.error).split("\n");
          this.#line(v, `ERROR: ${first}`);
          for (const l of rest) this.#line(v, l);
        }
        v.complete = true;
        return;
      }
      case "warning": {
        const w = { ...e, message: this.#redact(e.message), detail: e.detail && this.#redact(e.detail) };
        this.#warnings.push(w);
        const v = e.id === undefined ? undefined : this.#vertices.get(e.id);
        if (v) for (const [i, l] of warningText(w).entries()) this.#line(v, i === 0 ? `WARN: ${l}` : l);
        return;
      }
      case "build.done": {
        for (const v of this.#vertices.values()) this.#flushLogs(v, e.at);
        const tail = [summaryLines(e), warningLines(this.#warnings, this.#options.expandWarnings)].filter(
          (block) => block.length > 0,
        );
        for (const block of tail) {
          if (this.#started) this.#pending.push("");
          this.#pending.push(...block);
          this.#started = true;
        }
        this.#current = undefined;
        return;
      }
    }
  }

  #status(e: VertexStatusEvent): void {
    const v = this.#vertex(e.id);
    let s = v.statuses.get(e.statusId);
    if (!s) {
      s = { startAt: e.at, events: 0, printedAt: undefined, last: e, finished: false };
      v.statuses.set(e.statusId, s);
    }
    s.events++;
    s.last = { ...s.last, ...e, current: e.current ?? s.last.current, total: e.total ?? s.last.total };
    if (s.finished) return;
    // Not chatty: a status shows its final state, and before that at most once per interval.
    if (e.done) this.#printStatus(v, s, e.at, true);
    else if (e.at - (s.printedAt ?? s.startAt) >= this.#options.statusIntervalMs)
      this.#printStatus(v, s, e.at, false);
  }

  #printStatus(v: PlainVertex, s: PlainStatus, at: number, done: boolean): void {
    const count = amount(s.last.current, s.last.total, s.last.unit);
    // A status that was done at its first report has no duration worth showing.
    const timer = done && s.events === 1 ? "" : ` ${seconds(at - s.startAt)}`;
    this.#line(v, `${this.#redact(s.last.name)}${count ? ` ${count}` : ""}${timer}${done ? " done" : ""}`);
    s.printedAt = at;
    s.finished = done;
  }

  #vertex(id: string, name = id): PlainVertex {
    let v = this.#vertices.get(id);
    if (!v) {
      v = {
        index: this.#vertices.size + 1,
        name: this.#redact(name),
        startAt: this.#options.clock(),
        complete: false,
        splitters: new Map(),
        statuses: new Map(),
      };
      this.#vertices.set(id, v);
    }
    return v;
  }

  /** Makes `v` the block being printed, closing the previous one as BuildKit does. */
  #enter(v: PlainVertex): void {
    if (this.#current === v) return;
    const previous = this.#current;
    if (previous && !previous.complete) this.#pending.push(`#${previous.index} ...`);
    if (this.#started) this.#pending.push("");
    this.#pending.push(`#${v.index} ${v.name}`);
    this.#current = v;
    this.#started = true;
  }

  #line(v: PlainVertex, text: string): void {
    this.#enter(v);
    this.#pending.push(`#${v.index} ${text}`);
  }

  #flushLogs(v: PlainVertex, at: number): void {
    for (const splitter of v.splitters.values()) {
      for (const piece of splitter.flush()) this.#line(v, `${logOffset(at - v.startAt)} ${piece.text}`);
    }
    v.splitters.clear();
  }

  #take(): string {
    if (this.#pending.length === 0) return "";
    const text = `${this.#pending.join("\n")}\n`;
    this.#pending = [];
    return text;
  }

  #write(): void {
    const text = this.#take();
    if (text) this.#out.write(text);
  }
}
