/**
 * The build flags that shape every RUN step, spelled as buildx spells them: `--add-host NAME:IP` (or
 * `NAME=IP`, which IPv6 addresses need), `--ulimit TYPE=SOFT[:HARD]` and `--shm-size SIZE` (`64m`, `1g`,
 * bytes without a unit). They become part of each step's definition, so they are part of its cache key.
 */

import { parseRamBytes } from "../../dockerfile/plan/run-mounts.ts";
import { UserError } from "../../errors/user-error.ts";
import { isHostName, isIpAddress, ulimitNames } from "../../graph/step-options.ts";
import type { ExtraHost, RunStepOptions, Ulimit } from "../../graph/types.ts";

export interface StepOptionFlags {
  addHost?: string[];
  ulimit?: string[];
  shmSize?: string;
}

export function parseStepOptions(flags: StepOptionFlags): RunStepOptions {
  const extraHosts = (flags.addHost ?? []).map(parseAddHost);
  const ulimits = parseUlimits(flags.ulimit ?? []);
  return {
    ...(extraHosts.length > 0 ? { extraHosts } : {}),
    ...(ulimits.length > 0 ? { ulimits } : {}),
    ...(flags.shmSize !== undefined ? { shmSizeBytes: parseShmSize(flags.shmSize) } : {}),
  };
}

/** `NAME:IP` or `NAME=IP`, as Docker reads it: `=` first (so `v6=::1` works), else the first `:`. */
export function parseAddHost(value: string): ExtraHost {
  const eq = value.indexOf("=");
  const sep = eq >= 0 ? eq : value.indexOf(":");
  const host = sep < 0 ? value : value.slice(0, sep);
  let ip = sep < 0 ? "" : value.slice(sep + 1);
  if (ip.startsWith("[") && ip.endsWith("]")) ip = ip.slice(1, -1);
  const usage = "write --add-host NAME:IP, e.g. --add-host db:10.0.0.5 or --add-host v6host=[2001:db8::1]";
  if (ip === "host-gateway") {
    throw new UserError(`invalid --add-host ${JSON.stringify(value)}: host-gateway is not supported`, {
      hint: "host-gateway is resolved by Docker's daemon, which polyarch does not use: give the gateway's IP address",
    });
  }
  if (!isHostName(host)) {
    throw new UserError(
      `invalid --add-host ${JSON.stringify(value)}: ${JSON.stringify(host)} is not a host name`,
      {
        hint: usage,
      },
    );
  }
  if (!isIpAddress(ip)) {
    throw new UserError(`invalid IP address in add-host: ${JSON.stringify(ip)}`, { hint: usage });
  }
  return { host, ip };
}

/** `TYPE=SOFT[:HARD]` each; a later value for the same type replaces an earlier one, as in Docker. */
export function parseUlimits(values: readonly string[]): Ulimit[] {
  const byName = new Map<string, Ulimit>();
  for (const value of values) {
    const u = parseUlimit(value);
    byName.set(u.name, u);
  }
  return [...byName.values()];
}

function parseUlimit(value: string): Ulimit {
  const usage = "write --ulimit TYPE=SOFT[:HARD], e.g. --ulimit nofile=1024:4096";
  const eq = value.indexOf("=");
  const name = eq < 0 ? value : value.slice(0, eq);
  if (eq < 0) throw new UserError(`invalid ulimit argument: ${value}`, { hint: usage });
  if (!ulimitNames.includes(name)) {
    throw new UserError(`invalid ulimit type: ${name}`, { hint: `types are ${ulimitNames.join(", ")}` });
  }
  const parts = value.slice(eq + 1).split(":");
  if (parts.length > 2) throw new UserError(`too many limit value arguments - ${value}`, { hint: usage });
  const [soft, hard] = parts.map((p) => {
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(Number(p))) {
      throw new UserError(`invalid ulimit value ${JSON.stringify(p)} in --ulimit ${value}`, {
        hint: `${usage}; limits are whole numbers (-1, unlimited, is not supported: give a large number)`,
      });
    }
    return Number(p);
  }) as [number, number | undefined];
  if (hard !== undefined && soft > hard) {
    throw new UserError(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`, {
      hint: usage,
    });
  }
  return { name, soft, hard: hard ?? soft };
}

/** A size as Docker reads `--shm-size` (go-units RAMInBytes: 64m, 1g, 512KiB, or bytes without a unit). */
export function parseShmSize(value: string): number {
  let bytes = Number.NaN;
  try {
    bytes = parseRamBytes(value.trim());
  } catch {
    // reported below, in --shm-size's words
  }
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new UserError(`invalid --shm-size ${JSON.stringify(value)}`, {
      hint: "give a size such as 64m, 512m or 1g (bytes without a unit)",
    });
  }
  return bytes;
}
