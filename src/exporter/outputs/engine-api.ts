/**
 * The few Docker Engine API calls a load needs (`GET /_ping`, `GET /info`, `POST /images/load`), spoken over
 * a unix socket or plain TCP with node:http. Podman's service answers the same compatible API, so one client
 * serves both. The archive is streamed into the request body: nothing is written to a temp file.
 */
import { request } from "node:http";
import type { Readable } from "node:stream";
import { UserError } from "../../errors/user-error.ts";

/** Where a daemon listens, as DOCKER_HOST spells it (`unix:///var/run/docker.sock`, `tcp://host:2375`). */
export interface EngineEndpoint {
  /** The address as the user gave it, for messages. */
  host: string;
  socketPath?: string;
  hostname?: string;
  port?: number;
}

export function parseEngineHost(host: string, where: string): EngineEndpoint {
  if (host.startsWith("unix://")) {
    const socketPath = host.slice("unix://".length);
    if (socketPath === "") throw new UserError(`${where}: ${host} names no socket path`);
    return { host, socketPath };
  }
  const tcp = /^(?:tcp|http):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(host);
  if (tcp) return { host, hostname: tcp[1]!.replace(/^\[|\]$/g, ""), port: Number(tcp[2] ?? 2375) };
  throw new UserError(`${where}: cannot reach a daemon at ${JSON.stringify(host)}`, {
    hint: "polyarch loads over unix:///PATH or plain tcp://HOST:PORT; for ssh:// or TLS, write -o type=docker,dest=image.tar and run: docker load -i image.tar",
  });
}

interface Reply {
  status: number;
  body: string;
}

/** Why a daemon could not be reached at all (as opposed to one that answered with an error). */
export class EngineUnreachable extends Error {
  override name = "EngineUnreachable";
}

function call(
  endpoint: EngineEndpoint,
  method: string,
  path: string,
  body?: Readable,
  onBody?: (chunk: string) => void,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        method,
        path,
        ...(endpoint.socketPath !== undefined
          ? { socketPath: endpoint.socketPath }
          : { hostname: endpoint.hostname, port: endpoint.port }),
        headers: {
          Host: "docker",
          ...(body ? { "Content-Type": "application/x-tar", "Transfer-Encoding": "chunked" } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          // Only the start is kept for messages; a progress stream can be long.
          if (text.length < 64 * 1024) text += chunk;
          onBody?.(chunk);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on("error", reject);
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (["ENOENT", "ECONNREFUSED", "EACCES", "ENOTSOCK", "EHOSTUNREACH"].includes(e.code ?? "")) {
        reject(new EngineUnreachable(`${e.code}: ${e.message}`));
      } else reject(e);
    });
    if (!body) {
      req.end();
      return;
    }
    body.on("error", (e) => req.destroy(e));
    body.pipe(req);
  });
}

/** True when a daemon answers `/_ping` at the endpoint. */
export async function ping(endpoint: EngineEndpoint): Promise<boolean> {
  try {
    const reply = await call(endpoint, "GET", "/_ping");
    return reply.status === 200;
  } catch (e) {
    if (e instanceof EngineUnreachable) return false;
    throw e;
  }
}

export interface EngineInfo {
  serverVersion: string;
  /** Docker with the containerd image store keeps multi-platform images (and loads OCI archives). */
  containerdStore: boolean;
  /** Podman's compatible API says so in its version components. */
  podman: boolean;
}

export async function engineInfo(endpoint: EngineEndpoint): Promise<EngineInfo> {
  const [info, version] = await Promise.all([
    call(endpoint, "GET", "/info"),
    call(endpoint, "GET", "/version"),
  ]);
  if (info.status !== 200) {
    throw new UserError(`the daemon at ${endpoint.host} refused GET /info (${info.status})`, {
      hint: errorText(info.body),
    });
  }
  const doc = JSON.parse(info.body) as { ServerVersion?: string; DriverStatus?: [string, string][] };
  const ver =
    version.status === 200 ? (JSON.parse(version.body) as { Components?: { Name?: string }[] }) : {};
  return {
    serverVersion: doc.ServerVersion ?? "unknown",
    // What buildx checks: the containerd snapshotter reports itself in DriverStatus.
    containerdStore: (doc.DriverStatus ?? []).some(
      ([k, v]) => k === "driver-type" && v === "io.containerd.snapshotter.v1",
    ),
    podman: (ver.Components ?? []).some((c) => /podman/i.test(c.Name ?? "")),
  };
}

/**
 * Streams an image archive into `POST /images/load` and returns the names the daemon reported loading. The
 * daemon answers 200 and then reports a failure inside the JSON message stream, so each message is read.
 */
export async function loadArchive(endpoint: EngineEndpoint, archive: Readable): Promise<string[]> {
  let reply: Reply;
  try {
    reply = await call(endpoint, "POST", "/images/load?quiet=1", archive);
  } catch (e) {
    if (e instanceof EngineUnreachable) {
      throw new UserError(`lost the daemon at ${endpoint.host} while loading the image: ${e.message}`, {
        hint: "check that the daemon is running, then build again",
      });
    }
    throw e;
  }
  if (reply.status !== 200) {
    throw new UserError(`the daemon at ${endpoint.host} refused the image (HTTP ${reply.status})`, {
      hint: errorText(reply.body),
    });
  }
  const loaded: string[] = [];
  for (const line of reply.body.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    let msg: { stream?: string; error?: string; errorDetail?: { message?: string } };
    try {
      msg = JSON.parse(line);
    } catch {
      continue;
    }
    const error = msg.errorDetail?.message ?? msg.error;
    if (error) {
      throw new UserError(`the daemon at ${endpoint.host} could not load the image: ${error.trim()}`, {
        hint: "write the archive with -o type=docker,dest=image.tar (or type=oci) and load it by hand to see more",
      });
    }
    const m = /Loaded image(?: ID)?: (\S+)/.exec(msg.stream ?? "");
    if (m) loaded.push(m[1]!);
  }
  return loaded;
}

function errorText(body: string): string {
  try {
    const doc = JSON.parse(body) as { message?: string };
    if (typeof doc.message === "string") return doc.message;
  } catch {
    // not JSON: show the start of what it said
  }
  return body.slice(0, 300).trim();
}
