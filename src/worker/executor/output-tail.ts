/**
 * Keeps the end of a step's combined output, bounded in memory whatever the step prints, so a failure
 * can quote its last lines.
 */
export class OutputTail {
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(maxBytes = 16 * 1024) {
    this.#maxBytes = maxBytes;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size - (this.#chunks[0]?.length ?? 0) >= this.#maxBytes && this.#chunks.length > 1) {
      this.#size -= this.#chunks.shift()!.length;
    }
  }

  /** The last `n` non-empty lines, without a line cut in half at the front of the kept window. */
  lines(n: number): string[] {
    let buf = Buffer.concat(this.#chunks);
    let cut = false;
    if (buf.length > this.#maxBytes) {
      buf = buf.subarray(buf.length - this.#maxBytes);
      cut = true;
    }
    const all = buf.toString("utf8").replace(/\r\n?/g, "\n").split("\n");
    if (cut) all.shift();
    return all.filter((l) => l.trim() !== "").slice(-n);
  }
}
