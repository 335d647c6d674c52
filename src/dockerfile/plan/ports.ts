/** The parts of one EXPOSE word, `[ip:][hostPort:]containerPort[-end][/proto]`, as written. */
export interface PortSpecParts {
  ip: string;
  hostPort: string;
  /** The port or range, without the protocol. */
  port: string;
  /** The protocol as written ("" when none was). */
  proto: string;
}

export function splitPortSpec(raw: string): PortSpecParts {
  const parts = raw.split(":");
  const containerPart = parts[parts.length - 1]!;
  const hostPort = parts.length >= 2 ? parts[parts.length - 2]! : "";
  const ip = parts.length >= 3 ? parts.slice(0, -2).join(":") : "";
  const slash = containerPart.indexOf("/");
  const port = slash < 0 ? containerPart : containerPart.slice(0, slash);
  const proto = slash < 0 ? "" : containerPart.slice(slash + 1);
  return { ip, hostPort, port, proto };
}

/** Whether a protocol (any case, or none) is one EXPOSE accepts. */
export function isKnownProto(proto: string): boolean {
  return ["", "tcp", "udp", "sctp"].includes(proto.toLowerCase());
}

/**
 * One EXPOSE word as BuildKit reads it: `[ip:][hostPort:]containerPort[-end][/proto]`, the protocol defaulting
 * to tcp; a range gives one entry per port. Returns `port/proto` strings or an error message.
 */
export function parsePortSpec(raw: string): { ports: string[] } | { error: string } {
  const { ip, hostPort, port, proto: written } = splitPortSpec(raw);
  const proto = written.toLowerCase() || "tcp";
  if (port === "") return { error: `no port specified: ${raw}<empty>` };
  if (!isKnownProto(written)) return { error: `invalid proto: ${written.toLowerCase()}` };
  if (ip !== "" && !/^\[?[0-9a-fA-F.:]+\]?$/.test(ip)) return { error: `invalid IP address: ${ip}` };
  const range = portRange(port);
  if (!range) return { error: `invalid containerPort: ${port}` };
  if (hostPort !== "") {
    const hostRange = portRange(hostPort);
    if (!hostRange) return { error: `invalid hostPort: ${hostPort}` };
    if (range[1] - range[0] !== hostRange[1] - hostRange[0] && range[0] !== range[1])
      return { error: `invalid ranges specified for container and host Ports: ${port} and ${hostPort}` };
  }
  const ports: string[] = [];
  for (let p = range[0]; p <= range[1]; p++) ports.push(`${p}/${proto}`);
  return { ports };
}

function portRange(text: string): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) return undefined;
  return [start, end];
}
