/**
 * The process `docker run IMAGE [CMD…]` starts, from the image config's runtime defaults: the entrypoint
 * followed by the given command (else the image's Cmd), the image's Env (PATH defaulted by the executor),
 * User and WorkingDir. `--entrypoint` replaces the entrypoint and, as Docker does, drops the image's Cmd.
 */
import { UserError } from "../errors/user-error.ts";
import type { ContainerConfig } from "../oci/image-config.ts";
import type { Platform } from "../oci/platform.ts";
import type { ExecRequest } from "./executor/exec-request.ts";

export interface ContainerCommand {
  /** Replaces the image's Cmd when non-empty. */
  args?: readonly string[];
  /** Replaces the image's Entrypoint (and its Cmd); an empty array clears it. */
  entrypoint?: readonly string[];
  /** `-e KEY=VALUE` entries, in order, each replacing the image's variable of that name. */
  env?: readonly string[];
}

/** A host directory or file bound into the container (`-v HOST:CONTAINER[:ro]`); `source` is absolute and real. */
export interface ContainerVolume {
  source: string;
  destination: string;
  readonly: boolean;
}

export function containerProcess(
  config: ContainerConfig | undefined,
  platform: Platform,
  command: ContainerCommand,
  what: string,
  volumes: readonly ContainerVolume[] = [],
  terminal = false,
): ExecRequest {
  const entrypoint = command.entrypoint ?? config?.Entrypoint ?? [];
  const imageCmd = command.entrypoint === undefined ? (config?.Cmd ?? []) : [];
  const cmd = command.args && command.args.length > 0 ? command.args : imageCmd;
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) {
    throw new UserError(`${what} has no Entrypoint or Cmd, and no command was given`, {
      hint: "give the command after the image name, e.g. polyarch run NAME /bin/sh -c 'uname -m'",
    });
  }
  const env = [...(config?.Env ?? [])];
  for (const entry of command.env ?? []) {
    const key = entry.split("=", 1)[0]!;
    const at = env.findIndex((e) => e.split("=", 1)[0] === key);
    if (at >= 0) env[at] = entry;
    else env.push(entry);
  }
  const request: ExecRequest = { args, env, platform, network: "host" };
  if (config?.User) request.user = config.User;
  if (config?.WorkingDir) request.cwd = config.WorkingDir;
  // Mount points are placed by the executor, resolved inside the root (a link in the image never leads out).
  if (volumes.length > 0)
    request.mounts = volumes.map((v) => ({
      type: "bind",
      source: v.source,
      destination: v.destination,
      readonly: v.readonly,
    }));
  if (terminal) request.terminal = true;
  return request;
}
