import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { UserError } from "../errors/user-error.ts";

/**
 * Where a BuildKit daemon listens and how to reach it, in buildx's remote-driver spelling: the endpoint
 * `unix:///path` or `tcp://host:port`, and the driver options `cacert=`, `cert=`, `key=`, `servername=` for
 * (mutual) TLS over tcp.
 */
export interface BuildKitEndpoint {
  address: string;
  /** CA bundle that signs the daemon's certificate; setting it (or cert/key) turns TLS on. */
  cacert?: string;
  /** Client certificate and key for mutual TLS. */
  cert?: string;
  key?: string;
  /** The name the daemon's certificate must carry, when it is not the host of the address. */
  servername?: string;
}

export interface Channel {
  /** The target grpc-js dials. */
  target: string;
  credentials: grpc.ChannelCredentials;
  options: grpc.ChannelOptions;
}

function readPem(path: string, what: string, address: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UserError(
      `BuildKit node ${address}: cannot read the ${what} ${path}: ${(e as Error).message}`,
      {
        hint: "check the cacert=, cert= and key= driver options",
      },
    );
  }
}

/** A daemon address, checked: a unix socket path or a tcp host and port. */
export type BuildKitAddress = { kind: "unix"; path: string } | { kind: "tcp"; host: string; port: number };

/** Parses `unix:///path` or `tcp://host:port` (buildx's remote-driver endpoints); a UserError otherwise. */
export function parseBuildKitAddress(address: string): BuildKitAddress {
  if (address.startsWith("unix://")) {
    const path = address.slice("unix://".length);
    if (!path.startsWith("/"))
      throw new UserError(`BuildKit node ${address}: a unix endpoint needs an absolute path`, {
        hint: "write it as unix:///run/buildkit/buildkitd.sock",
      });
    return { kind: "unix", path };
  }
  const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]@]+):(\d{1,5})\/?$/.exec(address);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535)
    throw new UserError(`BuildKit node ${address}: not a BuildKit endpoint`, {
      hint: "use unix:///path/to/buildkitd.sock or tcp://host:port",
    });
  return { kind: "tcp", host: m[1]!, port };
}

/** The address as it is stored for a node (`unix:///path`, `tcp://host:port`). */
export function formatBuildKitAddress(a: BuildKitAddress): string {
  return a.kind === "unix" ? `unix://${a.path}` : `tcp://${a.host}:${a.port}`;
}

/** Turns an endpoint into what grpc-js needs, or a UserError naming the endpoint. */
export function channelFor(endpoint: BuildKitEndpoint): Channel {
  const { address } = endpoint;
  const options: grpc.ChannelOptions = {
    // Solve requests and status batches can be large; the daemon itself allows 16 MiB messages.
    "grpc.max_receive_message_length": 16 << 20,
    "grpc.max_send_message_length": 16 << 20,
  };
  const tls = endpoint.cacert !== undefined || endpoint.cert !== undefined || endpoint.key !== undefined;
  const parsed = parseBuildKitAddress(address);
  if (parsed.kind === "unix") {
    if (tls)
      throw new UserError(`BuildKit node ${address}: TLS options are for tcp:// endpoints`, {
        hint: "drop cacert=, cert= and key= for a unix socket",
      });
    return { target: `unix://${parsed.path}`, credentials: grpc.credentials.createInsecure(), options };
  }
  const target = `${parsed.host}:${parsed.port}`;
  if (!tls) return { target, credentials: grpc.credentials.createInsecure(), options };
  if ((endpoint.cert === undefined) !== (endpoint.key === undefined))
    throw new UserError(`BuildKit node ${address}: cert= and key= go together`, {
      hint: "give both the client certificate and its key, or neither",
    });
  const ca = endpoint.cacert === undefined ? null : readPem(endpoint.cacert, "CA certificate", address);
  const key = endpoint.key === undefined ? null : readPem(endpoint.key, "client key", address);
  const cert = endpoint.cert === undefined ? null : readPem(endpoint.cert, "client certificate", address);
  if (endpoint.servername) {
    options["grpc.ssl_target_name_override"] = endpoint.servername;
    options["grpc.default_authority"] = endpoint.servername;
  }
  return { target, credentials: grpc.credentials.createSsl(ca, key, cert), options };
}

/** Parses buildx's `--driver-opt` list (`cacert=…,cert=…,key=…,servername=…`) into an endpoint. */
export function endpointFromDriverOpts(address: string, opts: Record<string, string>): BuildKitEndpoint {
  const endpoint: BuildKitEndpoint = { address };
  for (const [k, v] of Object.entries(opts)) {
    if (k === "cacert" || k === "cert" || k === "key" || k === "servername") endpoint[k] = v;
    else
      throw new UserError(`BuildKit node ${address}: unknown driver option ${k}`, {
        hint: "the remote driver takes cacert=, cert=, key= and servername=",
      });
  }
  return endpoint;
}
