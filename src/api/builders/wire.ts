/**
 * The channel between a client and an ssh node: polyarch's own framing over the stdio of the system
 * `ssh` (the transport is OpenSSH's; this only cuts its byte stream into messages). A frame is a 4-byte
 * big-endian length, a kind byte and the payload:
 *   1  JSON message (UTF-8): a request {t:"req",id,kind,…}, its answer {t:"res",id,ok,…}, or an event {t:"event",kind,…}
 *   2  blob bytes: a 4-byte blob id (the id of the request that asked for it), then a chunk
 *   3  blob end: the 4-byte blob id
 * Either side may ask the other. What arrives is the other machine's and is checked: frames are bounded,
 * blobs are verified by digest where they are stored, and answers are validated by whoever reads them.
 */
import type { Readable, Writable } from "node:stream";
import { PassThrough } from "node:stream";
import { UserError } from "../../errors/user-error.ts";

const MAX_FRAME = 64 * 1024 * 1024;
const CHUNK = 256 * 1024;

export type WireMessage = Record<string, unknown>;
type Handler = (body: WireMessage, id: number) => Promise<WireMessage>;

export class WireError extends Error {}

export class Wire {
  readonly #out: Writable;
  readonly #input: Readable;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (m: WireMessage) => void; reject: (e: Error) => void }>();
  readonly #blobs = new Map<number, PassThrough>();
  readonly #handlers = new Map<string, Handler>();
  readonly #events = new Map<string, (body: WireMessage) => void>();
  #buffer: Buffer = Buffer.alloc(0);
  #closed: Error | undefined;
  readonly #onClose: ((e: Error) => void)[] = [];

  /**
   * `ownsEnd`: the caller closes the wire when the input ends (a client waits for ssh's exit, which says
   * why the connection ended); otherwise the end of the input closes it.
   */
  constructor(input: Readable, output: Writable, options: { ownsEnd?: boolean } = {}) {
    this.#input = input;
    this.#out = output;
    input.on("data", (chunk: Buffer) => this.#receive(chunk));
    if (!options.ownsEnd) {
      input.on("end", () => this.close(new WireError("the other side closed the connection")));
      input.on("error", (e) => this.close(new WireError(e.message)));
      output.on("error", (e) => this.close(new WireError(e.message)));
    } else {
      // The exit that follows says why; a write error must not become an unhandled one meanwhile.
      input.on("error", () => {});
      output.on("error", () => {});
    }
  }

  /** Answers requests of a kind; a rejection goes back as an error answer (a UserError keeps its hint). */
  handle(kind: string, handler: Handler): void {
    this.#handlers.set(kind, handler);
  }

  on(kind: string, listener: (body: WireMessage) => void): void {
    this.#events.set(kind, listener);
  }

  onClose(listener: (e: Error) => void): void {
    if (this.#closed) listener(this.#closed);
    else this.#onClose.push(listener);
  }

  get closed(): Error | undefined {
    return this.#closed;
  }

  async event(kind: string, body: WireMessage = {}): Promise<void> {
    await this.#sendJson({ ...body, t: "event", kind });
  }

  async request(kind: string, body: WireMessage = {}): Promise<WireMessage> {
    const id = this.#nextId++;
    const answer = new Promise<WireMessage>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    await this.#sendJson({ ...body, t: "req", id, kind });
    return answer;
  }

  /** Asks for a blob: its bytes as a stream (the answer's body is awaited alongside). */
  async requestBlob(
    kind: string,
    body: WireMessage,
  ): Promise<{ stream: Readable; answer: Promise<WireMessage> }> {
    const id = this.#nextId++;
    const stream = new PassThrough();
    // Its reader sees a failure through its own listener; one not yet attached must not crash the process.
    stream.on("error", () => {});
    this.#blobs.set(id, stream);
    const answer = new Promise<WireMessage>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    answer.catch((e: Error) => stream.destroy(e));
    await this.#sendJson({ ...body, t: "req", id, kind });
    return { stream, answer };
  }

  /** Sends a blob's bytes for request `id` (a handler does this before it answers). */
  async sendBlob(id: number, source: AsyncIterable<Uint8Array>): Promise<number> {
    let size = 0;
    for await (const chunk of source) {
      for (let at = 0; at < chunk.length; at += CHUNK) {
        const part = chunk.subarray(at, at + CHUNK);
        const head = Buffer.alloc(9);
        head.writeUInt32BE(5 + part.length, 0);
        head.writeUInt8(2, 4);
        head.writeUInt32BE(id, 5);
        await this.#write(Buffer.concat([head, part]));
        size += part.length;
      }
    }
    const end = Buffer.alloc(9);
    end.writeUInt32BE(5, 0);
    end.writeUInt8(3, 4);
    end.writeUInt32BE(id, 5);
    await this.#write(end);
    return size;
  }

  close(e: Error): void {
    if (this.#closed) return;
    this.#closed = e;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
    for (const b of this.#blobs.values()) b.destroy(e);
    this.#blobs.clear();
    for (const l of this.#onClose) l(e);
    this.#out.end();
  }

  async #sendJson(msg: WireMessage): Promise<void> {
    const body = Buffer.from(JSON.stringify(msg), "utf8");
    const head = Buffer.alloc(5);
    head.writeUInt32BE(1 + body.length, 0);
    head.writeUInt8(1, 4);
    await this.#write(Buffer.concat([head, body]));
  }

  async #write(frame: Buffer): Promise<void> {
    if (this.#closed) throw this.#closed;
    if (!this.#out.write(frame)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#out.off("drain", done);
          this.#out.off("close", done);
          resolve();
        };
        this.#out.on("drain", done);
        this.#out.on("close", done);
      });
    }
  }

  #receive(chunk: Buffer): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    while (this.#buffer.length >= 5) {
      const len = this.#buffer.readUInt32BE(0);
      if (len < 1 || len > MAX_FRAME) {
        this.close(new WireError(`a frame of ${len} bytes (the other side is not polyarch node-serve)`));
        return;
      }
      if (this.#buffer.length < 4 + len) return;
      const kind = this.#buffer.readUInt8(4);
      const payload = this.#buffer.subarray(5, 4 + len);
      this.#buffer = this.#buffer.subarray(4 + len);
      try {
        this.#frame(kind, payload);
      } catch (e) {
        this.close(new WireError(e instanceof Error ? e.message : String(e)));
        return;
      }
    }
  }

  #frame(kind: number, payload: Buffer): void {
    if (kind === 2 || kind === 3) {
      if (payload.length < 4) throw new Error("a blob frame without its id");
      const id = payload.readUInt32BE(0);
      const stream = this.#blobs.get(id);
      if (!stream) throw new Error(`bytes of a blob nobody asked for (${id})`);
      if (kind === 3) {
        this.#blobs.delete(id);
        stream.end();
      } else if (!stream.write(Buffer.from(payload.subarray(4)))) {
        // The store writes slower than the network delivers: stop reading until it catches up. A stream
        // ended meanwhile (its end frame was in the same read) never drains: its finish resumes instead.
        this.#input.pause();
        const resume = () => {
          stream.off("drain", resume);
          stream.off("finish", resume);
          stream.off("close", resume);
          this.#input.resume();
        };
        stream.on("drain", resume);
        stream.on("finish", resume);
        stream.on("close", resume);
      }
      return;
    }
    if (kind !== 1) throw new Error(`an unknown frame kind ${kind}`);
    const msg = JSON.parse(payload.toString("utf8")) as WireMessage;
    if (typeof msg !== "object" || msg === null) throw new Error("a message that is not an object");
    if (msg.t === "res") {
      const p = this.#pending.get(msg.id as number);
      if (!p) throw new Error("an answer to nothing asked");
      this.#pending.delete(msg.id as number);
      if (msg.ok === true) p.resolve(msg);
      else {
        const err = (msg.error ?? {}) as { message?: unknown; hint?: unknown };
        const text = typeof err.message === "string" ? err.message : "failed";
        p.reject(new UserError(text, typeof err.hint === "string" ? { hint: err.hint } : {}));
      }
    } else if (msg.t === "req") {
      const id = msg.id;
      const handler = this.#handlers.get(String(msg.kind));
      if (typeof id !== "number" || !Number.isInteger(id)) throw new Error("a request without an id");
      const reply = handler
        ? handler(msg, id)
        : Promise.reject(new Error(`this side does not answer ${JSON.stringify(msg.kind)}`));
      reply.then(
        (body) => this.#sendJson({ ...body, t: "res", id, ok: true }).catch(() => {}),
        (e: unknown) =>
          this.#sendJson({
            t: "res",
            id,
            ok: false,
            error: {
              message: e instanceof Error ? e.message : String(e),
              ...(e instanceof UserError && e.hint ? { hint: e.hint } : {}),
            },
          }).catch(() => {}),
      );
    } else if (msg.t === "event") {
      this.#events.get(String(msg.kind))?.(msg);
    } else {
      throw new Error("a message of no known type");
    }
  }
}
