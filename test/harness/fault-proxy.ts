import { readFile } from "node:fs/promises";
import {
  createServer,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { TestRegistry } from "./registry.ts";

/**
 * A reverse proxy in front of a test registry that breaks chosen requests on a deterministic schedule (or at
 * a seeded random rate): status
 * answers (503 with or without Retry-After, 429 with Retry-After), connections cut before the headers or in the
 * middle of a body, and bodies with flipped bytes. Everything else is streamed through untouched. Counters
 * say which faults really happened, so a test that "survived faults" can prove there were some.
 *
 *   const proxy = await startFaultProxy(reg);
 *   proxy.addFault({ method: "GET", path: paths.blob, first: 2, fault: { kind: "status", status: 503 } });
 *   … client pulls from proxy.host …
 *   assert.equal(proxy.injected(), 2);
 *   proxy.addFault({ rate: 0.3, seed, fault: [{ kind: "reset" }, { kind: "status", status: 503 }] });
 */

export type Fault =
  /** Answer with this status instead of forwarding; `retryAfter` (seconds) sets Retry-After. */
  | { kind: "status"; status: number; retryAfter?: number }
  /** Close the client connection without answering (the upstream never sees the request). */
  | { kind: "reset" }
  /** Forward the response, then cut the connection after `afterBytes` bytes of body (always short). */
  | { kind: "cut-body"; afterBytes: number }
  /** Forward the response with one byte flipped at `offset` (default: the middle of the body). */
  | { kind: "corrupt"; offset?: number };

export interface FaultRule {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Matched against the request path (with query): a RegExp, or a substring. Any path when absent. */
  path?: RegExp | string;
  /** The fault to inject; with a list, one drawn at random (from the rule's seeded generator) each time. */
  fault: Fault | readonly Fault[];
  /** Inject on the first N matching requests only. */
  first?: number;
  /** Inject on every Kth matching request (the Kth, 2Kth, …). With neither first nor every: always. */
  every?: number;
  /**
   * Inject on each matching request with this probability (0–1), drawn from a generator seeded by `seed`, so
   * a failing run can be replayed (request order aside). Not combined with first/every.
   */
  rate?: number;
  /** Seed of the rule's generator (rate and fault lists); default 1. Print it in the test. */
  seed?: number;
}

/** Path patterns for the distribution API's endpoints. */
export const paths = {
  /** GET/HEAD of a blob by digest. */
  blob: /^\/v2\/.+\/blobs\/sha256:[a-f0-9]{64}/,
  /** Any request on a manifest (by tag or digest). */
  manifest: /^\/v2\/.+\/manifests\//,
  /** Upload session requests: POST to start, PATCH chunks, PUT to finish. */
  upload: /^\/v2\/.+\/blobs\/uploads\//,
  /** The /v2/ ping. */
  ping: /^\/v2\/?(\?|$)/,
} as const;

export interface InjectedFault {
  method: string;
  path: string;
  kind: Fault["kind"];
  status?: number;
  /** Index of the rule that fired, in addFault order. */
  rule: number;
}

export interface FaultProxy extends AsyncDisposable {
  /** "127.0.0.1:PORT" of the proxy: use it in references instead of the registry's host. */
  host: string;
  url: string;
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  /** Faults injected so far, optionally only of one kind. */
  injected(kind?: Fault["kind"]): number;
  log: InjectedFault[];
  /** Every request the proxy received (method and path), faulted or not. */
  requests: { method: string; path: string }[];
  /** For fixtures and skopeo through the proxy (same credentials as the registry; plain HTTP). */
  ref(nameAndTag: string): string;
  skopeoFlags(role?: "src" | "dest"): string[];
  stop(): Promise<void>;
}

interface LiveRule {
  rule: FaultRule;
  seen: number;
  random: () => number;
}

/** mulberry32: a tiny seeded generator, so a fault schedule is a function of its seed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function matches(rule: FaultRule, method: string, path: string): boolean {
  if (rule.method && rule.method.toUpperCase() !== method) return false;
  if (rule.path === undefined) return true;
  return typeof rule.path === "string" ? path.includes(rule.path) : rule.path.test(path);
}

const hopByHop = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"]);

function withoutHopByHop(headers: IncomingMessage["headers"]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!hopByHop.has(name)) out[name] = value;
  return out;
}

function fires(live: LiveRule): boolean {
  const { first, every, rate } = live.rule;
  if (first !== undefined) return live.seen <= first;
  if (every !== undefined) return live.seen % every === 0;
  if (rate !== undefined) return live.random() < rate;
  return true;
}

function drawFault(live: LiveRule): Fault {
  const { fault } = live.rule;
  if (!Array.isArray(fault)) return fault as Fault;
  return fault[Math.floor(live.random() * fault.length)]!;
}

/**
 * Starts the proxy on its own loopback port. It speaks plain HTTP to clients (loopback registries may be
 * plain HTTP, as Docker allows) and whatever the registry speaks upstream, trusting the registry's CA.
 */
export async function startFaultProxy(registry: TestRegistry): Promise<FaultProxy> {
  const upstream = new URL(registry.url);
  const ca = registry.caCertPath ? await readFile(registry.caCertPath) : undefined;
  const agent = registry.tls ? new HttpsAgent({ keepAlive: true, ca }) : new HttpAgent({ keepAlive: true });
  const send = registry.tls ? httpsRequest : httpRequest;
  const rules: LiveRule[] = [];
  const log: InjectedFault[] = [];
  const requests: { method: string; path: string }[] = [];
  const sockets = new Set<Socket>();
  let host = "";

  function record(method: string, path: string, fault: Fault, rule: number): void {
    const entry: InjectedFault = { method, path, kind: fault.kind, rule };
    if (fault.kind === "status") entry.status = fault.status;
    log.push(entry);
  }

  /** Rewrites an absolute Location on the registry's origin to the proxy's, so the client stays behind us. */
  function rewriteLocation(value: string): string {
    try {
      const u = new URL(value);
      if (u.host === upstream.host) return `http://${host}${u.pathname}${u.search}`;
    } catch {
      // A relative Location resolves against the proxy already.
    }
    return value;
  }

  function pickFault(method: string, path: string): { fault: Fault; index: number } | undefined {
    let picked: { fault: Fault; index: number } | undefined;
    rules.forEach((live, index) => {
      if (!matches(live.rule, method, path)) return;
      live.seen++;
      if (!picked && fires(live)) picked = { fault: drawFault(live), index };
    });
    return picked;
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    requests.push({ method, path });
    const picked = pickFault(method, path);
    const fault = picked?.fault;

    if (fault?.kind === "status") {
      record(method, path, fault, picked!.index);
      const body = JSON.stringify({
        errors: [{ code: "UNAVAILABLE", message: "injected by the fault proxy" }],
      });
      const headers: OutgoingHttpHeaders = {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
      };
      if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
      // The client may still be sending a body; drain it so the answer is read as an answer, not a reset.
      req.resume();
      res.writeHead(fault.status, headers).end(body);
      return;
    }
    if (fault?.kind === "reset") {
      record(method, path, fault, picked!.index);
      // An RST, as a crashed server or a dropping middlebox gives, not a polite FIN.
      req.socket.resetAndDestroy();
      return;
    }

    const headers = withoutHopByHop(req.headers);
    headers.host = upstream.host;
    const out = send(
      { host: upstream.hostname, port: upstream.port, method, path, headers, agent },
      (upRes) => relay(upRes, res, method, path, fault, picked?.index ?? -1),
    );
    out.on("error", () => res.destroy());
    res.on("close", () => {
      if (!res.writableFinished) out.destroy();
    });
    req.pipe(out);
  }

  function relay(
    upRes: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
    fault: Fault | undefined,
    ruleIndex: number,
  ): void {
    const headers = withoutHopByHop(upRes.headers);
    if (typeof headers.location === "string") headers.location = rewriteLocation(headers.location);
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, headers);
    const length = Number(upRes.headers["content-length"] ?? Number.NaN);
    const hasBody = method !== "HEAD" && length > 0;

    if (fault?.kind === "cut-body" && hasBody) {
      record(method, path, fault, ruleIndex);
      const limit = Math.min(fault.afterBytes, length - 1);
      let sent = 0;
      res.flushHeaders();
      // end() rather than destroy(): the bytes already written must reach the client before the FIN.
      const cut = () => {
        upRes.destroy();
        res.socket?.end();
      };
      if (limit <= 0) {
        cut();
        return;
      }
      upRes.on("data", (chunk: Buffer) => {
        const part = chunk.subarray(0, limit - sent);
        sent += part.length;
        if (part.length) res.write(part);
        if (sent >= limit) cut();
      });
      return;
    }
    if (fault?.kind === "corrupt" && hasBody) {
      record(method, path, fault, ruleIndex);
      const at = fault.offset ?? Math.floor(length / 2);
      let pos = 0;
      upRes.on("data", (chunk: Buffer) => {
        if (at >= pos && at < pos + chunk.length) {
          const copy = Buffer.from(chunk);
          copy[at - pos] = copy[at - pos]! ^ 0xff;
          res.write(copy);
        } else res.write(chunk);
        pos += chunk.length;
      });
      upRes.on("end", () => res.end());
      return;
    }
    upRes.pipe(res);
  }

  const server = createServer(handle);
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("clientError", (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
      agent.destroy();
    });
    return stopping;
  };
  return {
    host,
    url: `http://${host}`,
    addFault: (rule) => {
      rules.push({ rule, seen: 0, random: seededRandom(rule.seed ?? 1) });
    },
    clearFaults: () => {
      rules.length = 0;
    },
    injected: (kind) => (kind ? log.filter((f) => f.kind === kind).length : log.length),
    log,
    requests,
    ref: (nameAndTag) => `${host}/${nameAndTag}`,
    skopeoFlags(role) {
      const flag = (name: string) => (role ? `--${role}-${name}` : `--${name}`);
      const out = [`${flag("tls-verify")}=false`];
      if (registry.credentials) {
        out.push(`${flag("creds")}=${registry.credentials.username}:${registry.credentials.password}`);
      }
      return out;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
