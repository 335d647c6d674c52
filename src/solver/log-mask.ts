/**
 * Masks the values of a step's secrets in its output before it becomes a progress event or an error, so
 * a RUN that prints a secret (by mistake, or `set -x`) never shows it. A value may be split across two
 * chunks of output: the end of each chunk that could start a value is held back until the next one.
 */
import { createRedactor, type Redactor } from "../progress/redact.ts";

export class LogMask {
  readonly #redact: Redactor;
  readonly #held = new Map<string, string>();

  constructor(values: readonly string[]) {
    this.#redact = createRedactor(values);
  }

  get active(): boolean {
    return this.#redact.longest > 0;
  }

  /** The part of `chunk` (after what was held of this stream) that can be shown now. */
  push(stream: string, chunk: Buffer): Buffer {
    const text = (this.#held.get(stream) ?? "") + chunk.toString("utf8");
    const masked = this.#redact(text);
    const keep = Math.min(masked.length, Math.max(this.#redact.longest - 1, 0));
    this.#held.set(stream, masked.slice(masked.length - keep));
    return Buffer.from(masked.slice(0, masked.length - keep), "utf8");
  }

  /** What is still held of a stream, at its end. */
  flush(stream: string): Buffer {
    const rest = this.#held.get(stream) ?? "";
    this.#held.delete(stream);
    return Buffer.from(this.#redact(rest), "utf8");
  }

  text(s: string): string {
    return this.#redact(s);
  }
}
