import type { Redactor } from "./redact.ts";

/** A piece of a step's output: a whole line, or part of one that grew too long to hold. */
export interface LogPiece {
  text: string;
  /** False for a piece cut from an over-long line, or the unterminated rest flushed when the step ends. */
  complete: boolean;
}

export interface LineSplitterOptions {
  redact: Redactor;
  /** Longest text held while waiting for a line break; beyond it the line is passed on in pieces. */
  maxHeld?: number;
  /**
   * Show a line as a terminal would: drop a trailing "\r" and keep only what follows the last "\r" inside
   * it (progress bars rewrite their line with "\r"). Off for rawjson, which passes the bytes on.
   */
  collapseCarriageReturns?: boolean;
}

/**
 * Turns a stream of output chunks into lines, holding at most `maxHeld` characters: a chatty step never
 * makes us buffer without bound. Text is masked before it leaves, and enough is held back at a cut that a
 * secret split across chunks is still masked.
 */
export class LineSplitter {
  readonly #decoder = new TextDecoder("utf-8");
  readonly #redact: Redactor;
  readonly #maxHeld: number;
  readonly #collapse: boolean;
  #held = "";

  constructor(options: LineSplitterOptions) {
    this.#redact = options.redact;
    this.#maxHeld = Math.max(options.maxHeld ?? 8192, options.redact.longest * 2, 64);
    this.#collapse = options.collapseCarriageReturns ?? true;
  }

  push(data: Uint8Array): LogPiece[] {
    const pieces: LogPiece[] = [];
    let text = this.#held + this.#decoder.decode(data, { stream: true });
    let nl = text.indexOf("\n");
    while (nl >= 0) {
      pieces.push({ text: this.#finish(text.slice(0, nl + 1)), complete: true });
      text = text.slice(nl + 1);
      nl = text.indexOf("\n");
    }
    this.#held = text;
    if (this.#held.length > this.#maxHeld) this.#cut(pieces);
    return pieces;
  }

  /** The unterminated rest, when the step ends. */
  flush(): LogPiece[] {
    const rest = this.#held + this.#decoder.decode();
    this.#held = "";
    return rest === "" ? [] : [{ text: this.#finish(rest), complete: false }];
  }

  #cut(pieces: LogPiece[]): void {
    if (this.#collapse) {
      // Only the text after a progress bar's last "\r" would be visible; drop what it overwrote.
      const cr = this.#held.lastIndexOf("\r", this.#held.length - 2);
      if (cr >= 0) this.#held = this.#held.slice(cr + 1);
      if (this.#held.length <= this.#maxHeld) return;
    }
    const masked = this.#redact(this.#held);
    const keep = Math.max(this.#redact.longest - 1, 0);
    const cutAt = masked.length - keep;
    pieces.push({ text: this.#finishPiece(masked.slice(0, cutAt)), complete: false });
    this.#held = masked.slice(cutAt);
  }

  #finish(raw: string): string {
    return this.#finishPiece(this.#redact(raw));
  }

  #finishPiece(text: string): string {
    if (!this.#collapse) return text;
    const line = text.replace(/\r*\n$/, "").replace(/\r+$/, "");
    const cr = line.lastIndexOf("\r");
    return cr >= 0 ? line.slice(cr + 1) : line;
  }
}
