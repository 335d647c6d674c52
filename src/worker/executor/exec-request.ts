import type { ErrorLocation } from "../../errors/user-error.ts";
import type { Platform } from "../../oci/platform.ts";

/** `host` shares the build machine's network (the default for RUN, as in BuildKit); `none` has only lo. */
export type NetworkMode = "host" | "none";

/** `sandbox` (the default) confines a step; `insecure` (RUN --security=insecure) lifts it: see spec.ts. */
export type SecurityMode = "sandbox" | "insecure";

/**
 * Extra mounts of a RUN step. `cache` is a persistent host directory mounted read-write (RUN
 * --mount=type=cache); `bind` covers --mount=type=bind and secrets; `tmpfs` is a fresh in-memory dir.
 */
export type ExecMount =
  | { type: "bind"; source: string; destination: string; readonly: boolean }
  | { type: "cache"; source: string; destination: string }
  | { type: "tmpfs"; destination: string; sizeBytes?: number };

/** A resource limit as `docker run --ulimit` names it: `nofile`, `nproc`, `core`, `stack`… */
export interface ResourceLimit {
  name: string;
  soft: number;
  hard: number;
}

/** One process to run in a prepared root filesystem: what a RUN step becomes once the solver has its inputs. */
export interface ExecRequest {
  args: string[];
  /** KEY=VALUE, in order; PATH gets the usual default when absent, HOME comes from /etc/passwd when absent. */
  env: string[];
  /** Absolute path inside the container; created (owned by the user) when missing. Default "/". */
  cwd?: string;
  /** `name|uid[:group|gid]`, resolved against the rootfs's /etc/passwd and /etc/group. Default root. */
  user?: string;
  network?: NetworkMode;
  security?: SecurityMode;
  /** Default "buildkitsandbox", the name RUN steps see under BuildKit. */
  hostname?: string;
  /** The platform the binaries are built for; a foreign one needs a registered emulator. */
  platform: Platform;
  readonlyRootfs?: boolean;
  mounts?: ExecMount[];
  /** A pseudo-terminal for the process (`polyarch run -t`); runc then needs polyarch's own terminal. */
  terminal?: boolean;
  /** Extra /etc/hosts lines (--add-host). */
  extraHosts?: { host: string; ip: string }[];
  /** Resource limits by Docker's names (`nofile`, `nproc`…), replacing the defaults of the same name. */
  ulimits?: readonly ResourceLimit[];
  /** Size of /dev/shm in bytes; default 64 MiB. */
  shmSizeBytes?: number;
  /** Where the step comes from, carried into a failure's error so the CLI can point at the Dockerfile. */
  location?: ErrorLocation;
}

export const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
export const defaultHostname = "buildkitsandbox";
