import * as grpc from "@grpc/grpc-js";
import { type ErrorLocation, UserError } from "../errors/user-error.ts";
import { type BuildKitEndpoint, channelFor } from "./endpoint.ts";
import {
  type Codec,
  codec,
  type ErrSource,
  type SolveRequest,
  type StatusResponse,
  type UsageRecord,
  type WireVersion,
  type WorkerRecord,
} from "./wire.ts";

const service = "/moby.buildkit.v1.Control/";
const bytesMessage = codec<{ data: Buffer }>("BytesMessage");

/**
 * The daemon's Control service (BuildKit's api/services/control): one gRPC channel to one buildkitd. Every
 * failure to reach it, or a TLS failure, is a UserError that names the endpoint.
 */
export class ControlClient {
  readonly #client: grpc.Client;
  readonly endpoint: BuildKitEndpoint;
  readonly #timeoutMs: number;

  /** `timeoutMs` bounds the short calls (Info, ListWorkers, DiskUsage); Solve and streams have none. */
  constructor(endpoint: BuildKitEndpoint, options: { timeoutMs?: number } = {}) {
    this.endpoint = endpoint;
    this.#timeoutMs = options.timeoutMs ?? 20_000;
    const channel = channelFor(endpoint);
    this.#client = new grpc.Client(channel.target, channel.credentials, channel.options);
  }

  #unary<Req, Res>(method: string, req: Codec<Req>, res: Codec<Res>, value: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(
        service + method,
        (v: Req) => req.encode(v),
        (b: Buffer) => res.decode(b),
        value,
        new grpc.Metadata(),
        // A daemon that is down must not hang `ls` or a build's start: short calls have a deadline.
        { deadline: Date.now() + this.#timeoutMs },
        (err, out) => (err ? reject(this.explain(err, method)) : resolve(out as Res)),
      );
    });
  }

  async info(): Promise<WireVersion> {
    const r = await this.#unary(
      "Info",
      codec<object>("InfoRequest"),
      codec<InfoResponse>("InfoResponse"),
      {},
    );
    return r.buildkitVersion ?? { package: "", version: "", revision: "" };
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    const r = await this.#unary(
      "ListWorkers",
      codec<{ filter: string[] }>("ListWorkersRequest"),
      codec<{ record: WorkerRecord[] }>("ListWorkersResponse"),
      { filter: [] },
    );
    return r.record;
  }

  async diskUsage(filter: string[] = []): Promise<UsageRecord[]> {
    const r = await this.#unary(
      "DiskUsage",
      codec<{ filter: string[] }>("DiskUsageRequest"),
      codec<{ record: UsageRecord[] }>("DiskUsageResponse"),
      { filter },
    );
    return r.record;
  }

  /** Prunes the daemon's build cache; resolves the records removed. */
  prune(options: { all?: boolean; filter?: string[]; keepDurationMs?: number } = {}): Promise<UsageRecord[]> {
    const request = {
      filter: options.filter ?? [],
      all: options.all ?? false,
      keepDuration: (options.keepDurationMs ?? 0) * 1e6,
    };
    const req = codec<typeof request>("PruneRequest");
    const res = codec<UsageRecord>("UsageRecord");
    const call = this.#client.makeServerStreamRequest(
      `${service}Prune`,
      (v: typeof request) => req.encode(v),
      (b: Buffer) => res.decode(b),
      request,
      new grpc.Metadata(),
      {},
    );
    return collect<UsageRecord>(call, (e) => this.explain(e, "Prune"));
  }

  solve(request: SolveRequest, signal?: AbortSignal): Promise<Record<string, string>> {
    const req = codec<SolveRequest>("SolveRequest");
    const res = codec<{ exporterResponse: Record<string, string> }>("SolveResponse");
    return new Promise((resolve, reject) => {
      const call = this.#client.makeUnaryRequest(
        `${service}Solve`,
        (v: SolveRequest) => req.encode(v),
        (b: Buffer) => res.decode(b),
        request,
        new grpc.Metadata(),
        {},
        (err, out) => (err ? reject(this.explain(err, "Solve")) : resolve(out!.exporterResponse)),
      );
      signal?.addEventListener("abort", () => call.cancel(), { once: true });
    });
  }

  /** The status stream of the solve named `ref`; it ends when the solve does. */
  status(ref: string): grpc.ClientReadableStream<StatusResponse> {
    const req = codec<{ ref: string }>("StatusRequest");
    const res = codec<StatusResponse>("StatusResponse");
    return this.#client.makeServerStreamRequest(
      `${service}Status`,
      (v: { ref: string }) => req.encode(v),
      (b: Buffer) => res.decode(b),
      { ref },
      new grpc.Metadata(),
      {},
    );
  }

  /** The Control.Session stream a session tunnels its HTTP/2 through. */
  openSession(metadata: grpc.Metadata): grpc.ClientDuplexStream<{ data: Buffer }, { data: Buffer }> {
    return this.#client.makeBidiStreamRequest(
      `${service}Session`,
      (v: { data: Buffer }) => bytesMessage.encode(v),
      (b: Buffer) => bytesMessage.decode(b),
      metadata,
      {},
    );
  }

  close(): void {
    this.#client.close();
  }

  /** A gRPC failure as the user should read it: unreachable and TLS problems name the endpoint. */
  explain(err: grpc.ServiceError | Error, method: string): Error {
    const e = err as grpc.ServiceError;
    const address = this.endpoint.address;
    if (e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED) {
      const detail = oneLine(e.details || e.message);
      const tls = /certificate|ssl|tls|handshake|self[- ]signed|alert/i.test(detail);
      if (e.code === grpc.status.DEADLINE_EXCEEDED)
        return new UserError(`BuildKit node ${address}: no answer in time (${method})`, {
          hint: "check that buildkitd is running there and that nothing drops the connection",
          cause: err,
        });
      return new UserError(`BuildKit node ${address}: ${tls ? "TLS failed" : "cannot connect"}: ${detail}`, {
        hint: tls
          ? "check cacert= (the CA that signed the daemon's certificate), cert=, key= and servername="
          : "check that buildkitd is running and listening on that address",
        cause: err,
      });
    }
    if (e.code === grpc.status.UNIMPLEMENTED)
      return new UserError(`BuildKit node ${address}: the daemon does not implement ${method}`, {
        hint: "use BuildKit v0.11 or newer",
        cause: err,
      });
    const location = sourceLocation(e);
    return new UserError(`BuildKit node ${address}: ${oneLine(e.details || e.message)}`, {
      cause: err,
      ...(location ? { location } : {}),
    });
  }
}

interface InfoResponse {
  buildkitVersion?: WireVersion | null;
}

/**
 * Where in the Dockerfile a daemon's error points: BuildKit attaches an errdefs.Source (file name, its
 * bytes, the line range) to the status details of a failed solve.
 */
function sourceLocation(e: grpc.ServiceError): ErrorLocation | undefined {
  const raw = e.metadata?.get("grpc-status-details-bin")[0];
  if (!Buffer.isBuffer(raw)) return undefined;
  try {
    const status = codec<{ details: { typeUrl: string; value: Buffer }[] }>("RpcStatus").decode(raw);
    // BuildKit sends its typed errors as protojson (`…errdefs.Source+json`); older daemons as protobuf.
    const any = status.details.find((d) => /errdefs\.Source(\+json)?$/.test(d.typeUrl));
    if (!any) return undefined;
    const source: ErrSource = any.typeUrl.endsWith("+json")
      ? fromJson(JSON.parse(any.value.toString("utf8")))
      : codec<ErrSource>("ErrSource").decode(any.value);
    const start = source.ranges[0]?.start;
    if (!source.info || !start || start.line < 1) return undefined;
    const line = source.info.data.toString("utf8").split("\n")[start.line - 1];
    return {
      file: source.info.filename,
      line: start.line,
      column: start.character + 1,
      ...(line !== undefined ? { source: line } : {}),
    };
  } catch {
    // Details we cannot read leave the message as it is.
    return undefined;
  }
}

interface JsonSource {
  info?: { filename?: string; data?: string };
  ranges?: { start?: { line?: number; character?: number } }[];
}

function fromJson(j: JsonSource): ErrSource {
  return {
    info: j.info ? { filename: j.info.filename ?? "", data: Buffer.from(j.info.data ?? "", "base64") } : null,
    ranges: (j.ranges ?? []).map((r) => ({
      start: r.start ? { line: r.start.line ?? 0, character: r.start.character ?? 0 } : null,
    })),
  };
}

function oneLine(s: string): string {
  // grpc-js appends an empty "Resolution note:" to connection errors.
  return s
    .replace(/\s*Resolution note:\s*$/, "")
    .replace(/\s*\n\s*/g, "; ")
    .trim();
}

function collect<T>(call: grpc.ClientReadableStream<T>, explain: (e: Error) => Error): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    call.on("data", (v: T) => out.push(v));
    call.on("error", (e: Error) => reject(explain(e)));
    call.on("end", () => resolve(out));
  });
}
