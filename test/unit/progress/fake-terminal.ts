import { Writable } from "node:stream";

/** A stream that keeps what is written to it and can pose as a terminal of a given size. */
export class FakeTerminal extends Writable {
  text = "";
  writes: string[] = [];
  isTTY: boolean;
  columns: number | undefined;
  rows: number | undefined;

  constructor(options: { isTTY?: boolean; columns?: number; rows?: number } = {}) {
    super({ decodeStrings: false });
    this.isTTY = options.isTTY ?? false;
    this.columns = options.columns;
    this.rows = options.rows;
  }

  override _write(chunk: string | Buffer, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
    const s = chunk.toString();
    this.writes.push(s);
    this.text += s;
    done();
  }
}

/** A clock the test moves by hand, so every time in the output is known. */
export class FakeClock {
  now = 0;
  readonly read = (): number => this.now;
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The screen's text without colour and cursor sequences. */
export function strip(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
}
