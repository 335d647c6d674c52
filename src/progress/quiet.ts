import type { ProgressEvent, ProgressSink } from "./events.ts";
import { logOffset } from "./format.ts";
import type { ResolvedOptions } from "./options.ts";
import { createRedactor } from "./redact.ts";
import { errorBlock } from "./summary.ts";
import { Tracker } from "./tracker.ts";
import { writeAndWait } from "./write.ts";

const ERROR_TAIL = 12;

/**
 * `--progress=quiet`: nothing but a failed step and its last lines of output (only those are kept, so a
 * chatty step costs nothing). The build's error itself is printed by the caller.
 */
export class QuietRenderer implements ProgressSink {
  readonly #out: NodeJS.WritableStream;
  readonly #tracker: Tracker;
  #closed = false;

  constructor(out: NodeJS.WritableStream, options: ResolvedOptions) {
    this.#out = out;
    this.#tracker = new Tracker(createRedactor(options.redact), ERROR_TAIL);
  }

  emit(e: ProgressEvent): void {
    if (this.#closed) return;
    const v = this.#tracker.apply(e);
    if (e.type === "vertex.done" && v && v.error !== undefined) {
      const tail = v.tail.map((l) => ({ offset: logOffset(l.at - (v.startAt ?? l.at)), text: l.text }));
      this.#out.write(`${errorBlock(v.name, tail).join("\n")}\n`);
    }
    // Output of finished steps is no longer needed.
    if (e.type === "vertex.done" && v) v.tail = [];
  }

  close(): Promise<void> {
    this.#closed = true;
    return writeAndWait(this.#out, "");
  }
}
