import { randomBytes } from "node:crypto";
import { Duplex } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import type { ControlClient } from "../control-client.ts";
import { type SessionMethod, unaryMethod } from "./rpc.ts";

/**
 * A BuildKit session: the gRPC server the daemon calls back into for context files, secrets, registry
 * credentials and exported files. BuildKit opens no connection to the client; instead the client opens the
 * Control.Session bidi stream and the daemon speaks HTTP/2 (as the gRPC client) inside its BytesMessage
 * frames. grpc-js's connection injector serves HTTP/2 on any Duplex, so the stream becomes that Duplex.
 */
export class BuildKitSession {
  /** Sent as the session's id; the solve request names it. */
  readonly id = randomBytes(16).toString("hex");
  readonly #methods: SessionMethod[];
  #server: grpc.Server | undefined;
  #call: grpc.ClientDuplexStream<{ data: Buffer }, { data: Buffer }> | undefined;
  #closed: Promise<void> | undefined;

  /**
   * `sharedKey` scopes the daemon's cache of synced local directories: the same key on the next build lets
   * the daemon ask only for files whose metadata changed.
   */
  readonly name: string;
  readonly sharedKey: string;

  constructor(name: string, sharedKey: string, methods: readonly SessionMethod[]) {
    this.name = name;
    this.sharedKey = sharedKey;
    this.#methods = [healthCheck, ...methods];
  }

  /** Opens the session stream on the daemon and starts serving on it. */
  start(control: ControlClient): void {
    const server = new grpc.Server();
    const byService = new Map<string, SessionMethod[]>();
    for (const m of this.#methods) {
      const service = m.path.split("/")[1]!;
      byService.set(service, [...(byService.get(service) ?? []), m]);
    }
    for (const methods of byService.values()) {
      const definition: grpc.ServiceDefinition = {};
      const impl: grpc.UntypedServiceImplementation = {};
      for (const m of methods) {
        const name = m.path.split("/")[2]!;
        (definition as Record<string, grpc.MethodDefinition<unknown, unknown>>)[name] = m.definition;
        impl[name] = m.handler;
      }
      server.addService(definition, impl);
    }
    const metadata = new grpc.Metadata();
    metadata.set("x-docker-expose-session-uuid", this.id);
    metadata.set("x-docker-expose-session-name", this.name);
    metadata.set("x-docker-expose-session-sharedkey", this.sharedKey);
    for (const m of this.#methods) metadata.add("x-docker-expose-session-grpc-method", m.path);
    const call = control.openSession(metadata);
    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    injector.injectConnection(streamAsDuplex(call));
    this.#server = server;
    this.#call = call;
    this.#closed = new Promise((resolve) => {
      call.on("close", resolve);
      call.on("error", () => resolve());
    });
  }

  /** Ends the session: the daemon sees its stream close and drops the session. */
  async close(): Promise<void> {
    const call = this.#call;
    if (!call) return;
    this.#call = undefined;
    call.end();
    this.#server?.forceShutdown();
    // The daemon closes its side once it sees ours end; do not wait on a daemon that went away.
    await Promise.race([this.#closed, new Promise((r) => setTimeout(r, 2000).unref())]);
    call.cancel();
  }
}

/** The bidi stream of BytesMessage frames as a byte Duplex (what grpchijack does on BuildKit's side). */
function streamAsDuplex(call: grpc.ClientDuplexStream<{ data: Buffer }, { data: Buffer }>): Duplex {
  const duplex = new Duplex({
    read() {
      call.resume();
    },
    write(chunk: Buffer, _enc, callback) {
      // Copy: HTTP/2 may reuse the buffer after the callback, and grpc-js serialises later.
      if (call.write({ data: Buffer.from(chunk) })) callback();
      else call.once("drain", () => callback());
    },
    final(callback) {
      call.end();
      callback();
    },
    destroy(error, callback) {
      call.cancel();
      callback(error);
    },
  });
  call.on("data", (m: { data: Buffer }) => {
    if (!duplex.push(m.data)) call.pause();
  });
  call.on("end", () => duplex.push(null));
  call.on("error", (e: Error) => {
    // A cancelled call is how a session ends; anything else ends the HTTP/2 server's connection too.
    if ((e as { code?: number }).code === grpc.status.CANCELLED) duplex.push(null);
    else duplex.destroy(e);
  });
  // HTTP/2 reads these off net.Socket; a Duplex has none.
  Object.assign(duplex, { remoteAddress: "buildkitd", remotePort: 0, setNoDelay() {}, setKeepAlive() {} });
  return duplex;
}

// The daemon checks the session's health every few seconds and drops a session that does not answer.
const healthCheck = unaryMethod<{ service: string }, { status: number }>(
  "/grpc.health.v1.Health/Check",
  "HealthCheckRequest",
  "HealthCheckResponse",
  async () => ({ status: 1 }),
);
