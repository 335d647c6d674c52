/**
 * `polyarch run`'s `-e` and `-v`, read as `docker run` reads them. A volume is a bind mount of a host path
 * the user names: it is resolved here (relative to the working directory, links followed: the user's own
 * machine is trusted) and must exist; the container side must be absolute, and is placed by the executor
 * inside the container's root, so a link in the image never takes the mount out of it.
 */
import { realpath, stat } from "node:fs/promises";
import { isAbsolute, posix, resolve } from "node:path";
import { UserError } from "../errors/user-error.ts";
import type { ContainerVolume } from "../worker/container-process.ts";

/** `-e KEY=VALUE`, or `-e KEY` for this process's value (left out when it has none, as docker does). */
export function parseEnvFlag(spec: string, environment: NodeJS.ProcessEnv = process.env): string | undefined {
  const eq = spec.indexOf("=");
  const key = eq < 0 ? spec : spec.slice(0, eq);
  if (key === "" || /\s/.test(key)) {
    throw new UserError(`polyarch run: invalid environment variable ${JSON.stringify(spec)}`, {
      hint: "write -e KEY=VALUE, or -e KEY to pass this shell's value of KEY",
    });
  }
  if (eq >= 0) return spec;
  const value = environment[key];
  return value === undefined ? undefined : `${key}=${value}`;
}

/** `-v HOST:CONTAINER[:ro|rw]`. */
export async function parseVolumeFlag(spec: string, cwd = process.cwd()): Promise<ContainerVolume> {
  const parts = spec.split(":");
  const bad = (why: string, hint: string): never => {
    throw new UserError(`polyarch run: invalid volume ${JSON.stringify(spec)}: ${why}`, { hint });
  };
  if (parts.length < 2 || parts.length > 3) {
    bad("expected HOST:CONTAINER[:ro|rw]", "e.g. -v ./data:/data or -v /srv/conf:/etc/app:ro");
  }
  const [host, destination, mode = "rw"] = parts as [string, string, string?];
  if (mode !== "ro" && mode !== "rw") bad(`unknown mode ${JSON.stringify(mode)}`, "the mode is ro or rw");
  if (host === "") bad("no host path", "name a host directory or file before the colon");
  if (!host.startsWith("/") && !host.startsWith(".")) {
    bad(
      "named volumes are not supported",
      `polyarch keeps no volumes: name a host path (./${host} or an absolute path)`,
    );
  }
  if (!posix.isAbsolute(destination)) {
    bad("the container path must be absolute", `e.g. ${host}:/${destination.replace(/^\.?\/*/, "")}`);
  }
  const abs = isAbsolute(host) ? host : resolve(cwd, host);
  let source: string;
  try {
    source = await realpath(abs);
    await stat(source);
  } catch {
    return bad(`host path ${abs} does not exist`, "create it first; polyarch does not create host paths");
  }
  return { source, destination: posix.normalize(destination), readonly: mode === "ro" };
}
