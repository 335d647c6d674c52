import type { ProgressEvent, ProgressSink } from "./events.ts";
import { amount, logOffset, seconds } from "./format.ts";
import type { ResolvedOptions } from "./options.ts";
import { createRedactor } from "./redact.ts";
import { errorBlock, summaryLines, warningLines } from "./summary.ts";
import { textWidth, truncate } from "./text-width.ts";
import { Tracker, type VertexState } from "./tracker.ts";
import { writeAndWait } from "./write.ts";

/** What the live view needs of its stream: a terminal's size when it has one. */
export interface TerminalStream extends NodeJS.WritableStream {
  columns?: number;
  rows?: number;
}

const ESC = "\x1b[";
const CLEAR_LINE_RIGHT = `${ESC}K`;
const CLEAR_BELOW = `${ESC}J`;
const up = (n: number) => `${ESC}${n}A\r`;

type Tone = "plain" | "done" | "error" | "log" | "warn";
const TONES: Record<Tone, string> = { plain: "", done: "34", error: "31", log: "2", warn: "33" };

/** Lines of a failed step's output kept for the block printed after the last frame. */
const ERROR_TAIL = 12;
const DEFAULT_WIDTH = 80;

/**
 * The live view on a terminal (`--progress=tty`): a `[+] Building 12.3s (7/12)` header and a line per step
 * with its timer, its statuses and the last lines of its output while it runs, redrawn in place at most
 * every `refreshMs`. On close a final frame with every step, then failed steps' output, warnings and the
 * per-platform summary. Only a bounded tail of each step's output is kept.
 */
export class TtyRenderer implements ProgressSink {
  readonly #out: TerminalStream;
  readonly #options: ResolvedOptions;
  readonly #color: boolean;
  readonly #tracker: Tracker;
  readonly #timer: NodeJS.Timeout | undefined;
  #drawnLines = 0;
  #drawnAt = Number.NEGATIVE_INFINITY;
  #dirty = false;
  #closed = false;

  constructor(out: TerminalStream, options: ResolvedOptions, color: boolean) {
    this.#out = out;
    this.#options = options;
    this.#color = color;
    this.#tracker = new Tracker(createRedactor(options.redact), Math.max(options.tailLines, ERROR_TAIL));
    if (options.autoRefresh) {
      // Ticks move the timers of running steps; unref'd so a forgotten close never keeps the process up.
      this.#timer = setInterval(() => this.#tick(), options.refreshMs);
      this.#timer.unref();
    }
  }

  emit(e: ProgressEvent): void {
    if (this.#closed) return;
    const v = this.#tracker.apply(e);
    // Only a failed step's output is shown once it has ended.
    if (e.type === "vertex.done" && v && v.error === undefined) v.tail = [];
    this.#dirty = true;
    if (this.#options.clock() - this.#drawnAt >= this.#options.refreshMs) this.#draw();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    // A build that failed before its first step (a Dockerfile error) leaves no empty frame behind.
    if (this.#tracker.firstAt === undefined) return;
    let text = this.#redraw(this.#frame(true));
    const after: string[][] = [];
    for (const v of this.#tracker.vertices.values()) {
      if (v.error === undefined) continue;
      const tail = v.tail
        .slice(-ERROR_TAIL)
        .map((l) => ({ offset: logOffset(l.at - (v.startAt ?? l.at)), text: l.text }));
      after.push(errorBlock(v.name, tail));
    }
    after.push(
      warningLines(this.#tracker.warnings, this.#options.expandWarnings).map((l) => this.#paint(l, "warn")),
    );
    if (this.#tracker.buildDone) after.push(summaryLines(this.#tracker.buildDone));
    const blocks = after.filter((b) => b.length > 0);
    if (blocks.length > 0) text += `${blocks.map((b) => b.join("\n")).join("\n\n")}\n`;
    await writeAndWait(this.#out, text);
  }

  #tick(): void {
    const running = [...this.#tracker.vertices.values()].some((v) => isRunning(v));
    if (this.#dirty || running) this.#draw();
  }

  #draw(): void {
    this.#out.write(this.#redraw(this.#frame(false)));
    this.#drawnAt = this.#options.clock();
    this.#dirty = false;
  }

  /** Moves back over the last frame and writes this one over it, clearing what it leaves. */
  #redraw(lines: string[]): string {
    let text = this.#drawnLines > 0 ? up(this.#drawnLines) : "";
    for (const line of lines) text += `${line}${CLEAR_LINE_RIGHT}\n`;
    text += CLEAR_BELOW;
    this.#drawnLines = lines.length;
    return text;
  }

  #frame(final: boolean): string[] {
    const t = this.#tracker;
    const now = this.#options.clock();
    const columns = this.#out.columns && this.#out.columns > 0 ? this.#out.columns : DEFAULT_WIDTH;
    // One column spare: a line that fills the last column makes some terminals wrap and breaks the redraw.
    const width = Math.max(columns - 1, 10);
    const { completed, total } = t.counts();
    const elapsed = t.buildDone ? t.buildDone.durationMs : now - (t.firstAt ?? now);
    const finished = final && t.buildDone !== undefined && t.buildDone.error === undefined;
    const header = truncate(
      `[+] Building ${seconds(elapsed)} (${completed}/${total})${finished ? " FINISHED" : ""}`,
      width,
    );

    const blocks: { done: boolean; lines: string[] }[] = [];
    for (const v of t.vertices.values()) {
      if (v.startAt === undefined && !v.cached) continue;
      const tone: Tone = v.error !== undefined ? "error" : v.endAt !== undefined ? "done" : "plain";
      const label = `${v.cached ? "CACHED " : v.error !== undefined ? "ERROR " : ""}${v.name}`;
      const ran =
        v.endAt !== undefined ? (v.durationMs ?? v.endAt - (v.startAt ?? v.endAt)) : now - (v.startAt ?? now);
      const marker = v.emulated ? " (emulated)" : "";
      const lines = [this.#paint(fit(` => ${label}`, seconds(ran), width, marker), tone)];
      for (const s of v.statuses.values()) {
        const count = amount(s.current, s.total, s.unit);
        const took = (s.done ? s.lastAt : now) - s.startAt;
        lines.push(
          this.#paint(fit(` => => ${s.name}${count ? ` ${count}` : ""}`, seconds(took), width), tone),
        );
      }
      if (isRunning(v)) {
        for (const l of v.tail.slice(-this.#options.tailLines)) {
          lines.push(this.#paint(truncate(` => => # ${l.text}`, width), "log"));
        }
      }
      blocks.push({ done: !isRunning(v), lines });
    }

    const rows = this.#out.rows ?? 0;
    if (!final && rows > 2) {
      // A live frame must fit the screen or moving back over it fails: drop the oldest finished steps
      // first, then keep the newest lines.
      const room = rows - 2;
      let count = blocks.reduce((n, b) => n + b.lines.length, 0);
      for (let i = 0; i < blocks.length && count > room; ) {
        const b = blocks[i]!;
        if (b.done) {
          count -= b.lines.length;
          blocks.splice(i, 1);
        } else i++;
      }
      const body = blocks.flatMap((b) => b.lines);
      return [header, ...body.slice(Math.max(body.length - room, 0))];
    }
    return [header, ...blocks.flatMap((b) => b.lines)];
  }

  #paint(text: string, tone: Tone): string {
    const code = TONES[tone];
    return this.#color && code ? `${ESC}${code}m${text}${ESC}0m` : text;
  }
}

function isRunning(v: VertexState): boolean {
  return v.startAt !== undefined && v.endAt === undefined && !v.cached;
}

/** `text` cut to fit, `marker` kept after it (it says the step is emulated), the timer at the last column. */
function fit(text: string, timer: string, width: number, marker = ""): string {
  const room = width - timer.length - 1 - marker.length;
  if (room < 4) return truncate(text + marker, width);
  const cut = truncate(text, room) + marker;
  return `${cut}${" ".repeat(width - textWidth(cut) - timer.length)}${timer}`;
}
