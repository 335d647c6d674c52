/**
 * Which daemon `--load` loads into, found the way the docker CLI finds its daemon: DOCKER_HOST, else the
 * current docker context (DOCKER_CONTEXT, or `currentContext` of $DOCKER_CONFIG/config.json), else the
 * default socket. With none answering and podman allowed: podman's API socket (CONTAINER_HOST, else the
 * rootful or rootless default), else the `podman` program (`podman load` reading standard input).
 */
import { createHash } from "node:crypto";
import { access, constants, readFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { UserError } from "../../errors/user-error.ts";
import { dockerConfigDir } from "../../registry/credentials.ts";
import { type EngineEndpoint, parseEngineHost, ping } from "./engine-api.ts";

export type LoadTarget =
  | { kind: "docker" | "podman"; endpoint: EngineEndpoint; how: string }
  | { kind: "podman-cli"; program: string; how: string };

export interface FindTargetOptions {
  /** `--load` may fall back to podman; `-o type=docker` without dest means Docker only, as buildx. */
  allowPodman: boolean;
  env?: NodeJS.ProcessEnv;
}

const defaultDockerSocket = "unix:///var/run/docker.sock";

export async function findLoadTarget(options: FindTargetOptions): Promise<LoadTarget> {
  const env = options.env ?? process.env;
  const named = await namedDockerHost(env);
  if (named) {
    const endpoint = parseEngineHost(named.host, named.how);
    if (await ping(endpoint)) return { kind: "docker", endpoint, how: named.how };
    throw new UserError(`no Docker daemon answers at ${named.host} (${named.how})`, {
      hint: "start the daemon, or unset it to use the default; to skip the daemon, write -o type=docker,dest=image.tar",
    });
  }
  const standard = parseEngineHost(defaultDockerSocket, "the default socket");
  if (await ping(standard)) return { kind: "docker", endpoint: standard, how: "the default Docker socket" };

  if (options.allowPodman) {
    const found = await findPodman(env);
    if (found) return found;
  }
  throw new UserError(
    options.allowPodman
      ? "--load found no Docker daemon (DOCKER_HOST, docker context, /var/run/docker.sock) and no podman"
      : "-o type=docker without dest loads into a Docker daemon, and none answers (DOCKER_HOST, docker context, /var/run/docker.sock)",
    {
      hint: "start dockerd or install podman; or write an archive with -o type=docker,dest=image.tar (one platform) or -o type=oci,dest=image.tar and load it where you need it; or keep it in polyarch's store with -t NAME",
    },
  );
}

/** DOCKER_HOST, else the host of the current docker context (none for the "default" context). */
async function namedDockerHost(env: NodeJS.ProcessEnv): Promise<{ host: string; how: string } | undefined> {
  if (env.DOCKER_HOST) return { host: env.DOCKER_HOST, how: "DOCKER_HOST" };
  const configDir = dockerConfigDir(env);
  let context = env.DOCKER_CONTEXT;
  let how = "DOCKER_CONTEXT";
  if (!context) {
    const config = await readJson(join(configDir, "config.json"));
    const current = (config as { currentContext?: unknown } | undefined)?.currentContext;
    if (typeof current === "string") context = current;
    how = `docker context ${JSON.stringify(context)}`;
  } else how = `DOCKER_CONTEXT=${context}`;
  if (!context || context === "default") return undefined;
  // The docker CLI keeps a context's metadata under the sha256 of its name: a name is never a path here.
  const id = createHash("sha256").update(context).digest("hex");
  const meta = await readJson(join(configDir, "contexts", "meta", id, "meta.json"));
  const host = (meta as { Endpoints?: { docker?: { Host?: unknown } } } | undefined)?.Endpoints?.docker?.Host;
  if (typeof host !== "string" || host === "") {
    throw new UserError(`${how} is not a docker context this machine knows (no endpoint in ${configDir})`, {
      hint: "run `docker context ls`, or `docker context use default`",
    });
  }
  return { host, how };
}

async function findPodman(env: NodeJS.ProcessEnv): Promise<LoadTarget | undefined> {
  if (env.CONTAINER_HOST) {
    const endpoint = parseEngineHost(env.CONTAINER_HOST, "CONTAINER_HOST");
    if (await ping(endpoint)) return { kind: "podman", endpoint, how: "podman's API at CONTAINER_HOST" };
  }
  const sockets = ["unix:///run/podman/podman.sock"];
  if (env.XDG_RUNTIME_DIR) sockets.push(`unix://${join(env.XDG_RUNTIME_DIR, "podman", "podman.sock")}`);
  for (const host of sockets) {
    const endpoint = parseEngineHost(host, "podman's socket");
    if (await ping(endpoint)) return { kind: "podman", endpoint, how: `podman's API socket ${host}` };
  }
  const program = await onPath("podman", env);
  return program ? { kind: "podman-cli", program, how: `${program} load` } : undefined;
}

async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const file = join(dir, name);
    try {
      await access(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch {
    // Absent or unreadable: as the docker CLI, fall back to the default context.
    return undefined;
  }
}
