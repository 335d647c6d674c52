import {
  defaultPath,
  type ExecMount,
  type NetworkMode,
  type ResourceLimit,
  type SecurityMode,
} from "./exec-request.ts";
import type { RuntimeDevice, RuntimeMount, RuntimeSpec } from "./runtime-spec.ts";
import { defaultSeccompProfile } from "./seccomp-profile.ts";
import type { ResolvedUser } from "./user.ts";

/** Docker's default capability set: enough for package managers (chown, setuid, mknod) and no more. */
export const defaultCapabilities = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/**
 * What `RUN --security=insecure` gets (BuildKit's privileged step): every capability polyarch itself
 * holds, no seccomp filter, nothing of /proc or /sys hidden. Only with the build's `--allow
 * security.insecure`. In the kernel's order: bit n of a capability mask is the n-th name.
 */
export const allCapabilities = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

/** The capabilities whose bits are set in a mask such as /proc/self/status's CapBnd (bit n is allCapabilities[n]). */
export function capabilitiesInMask(mask: bigint): string[] {
  return allCapabilities.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** Kernel interfaces hidden from the container (Docker's defaults), so a build cannot read host secrets. */
export const maskedPaths = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

export const readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** BuildKit's RLIMIT_NOFILE; callers lower it to the host's hard limit when they cannot raise theirs. */
export const defaultNofile = 1024 * 1024;

function device(path: string, major: number, minor: number): RuntimeDevice {
  return { path, type: "c", major, minor, fileMode: 0o666, uid: 0, gid: 0 };
}

const defaultDevices = [
  device("/dev/null", 1, 3),
  device("/dev/zero", 1, 5),
  device("/dev/full", 1, 7),
  device("/dev/random", 1, 8),
  device("/dev/urandom", 1, 9),
  device("/dev/tty", 5, 0),
];

export interface SpecInput {
  /** Absolute host path of the prepared root filesystem (an empty directory when rootMount is set). */
  rootfs: string;
  /** A mount runc puts on / before any other (an overlay it mounts in the container's namespace). */
  rootMount?: RuntimeMount;
  args: string[];
  env: string[];
  cwd: string;
  user: ResolvedUser;
  network: NetworkMode;
  hostname: string;
  readonlyRootfs: boolean;
  /** Give the process a pseudo-terminal (runc, run in the foreground, copies it to its own terminal). */
  terminal?: boolean;
  mounts: ExecMount[];
  /** Host paths of the generated files bind-mounted over /etc/hosts and /etc/resolv.conf. */
  hostsFile: string;
  resolvConfFile: string;
  cgroupsPath?: string;
  /** RLIMIT_NOFILE soft and hard; default defaultNofile. */
  nofile?: number;
  /** Limits that replace the defaults of the same name (`nofile` included); `name` is Docker's. */
  ulimits?: readonly ResourceLimit[];
  /** Size of /dev/shm in bytes; default 64 MiB, as BuildKit's. */
  shmSizeBytes?: number;
  /** "sandbox" (default): Docker's capabilities and seccomp profile; "insecure": see allCapabilities. */
  security?: SecurityMode;
  /** The capabilities an insecure step gets: those we hold (runc cannot grant more); default all. */
  privilegedCapabilities?: readonly string[];
}

/** PATH defaults when absent, HOME comes from the user's passwd entry when absent; a repeated key keeps its last value. */
export function processEnv(env: readonly string[], home: string): string[] {
  const byKey = new Map<string, string>();
  for (const kv of env) {
    const eq = kv.indexOf("=");
    const key = eq < 0 ? kv : kv.slice(0, eq);
    byKey.delete(key);
    byKey.set(key, eq < 0 ? `${kv}=` : kv);
  }
  const out = [...byKey.values()];
  if (!byKey.has("PATH")) out.unshift(`PATH=${defaultPath}`);
  if (!byKey.has("HOME")) out.push(`HOME=${home}`);
  return out;
}

function extraMount(m: ExecMount): RuntimeMount {
  switch (m.type) {
    case "bind":
      return {
        destination: m.destination,
        type: "bind",
        source: m.source,
        options: ["rbind", m.readonly ? "ro" : "rw"],
      };
    case "cache":
      return { destination: m.destination, type: "bind", source: m.source, options: ["rbind", "rw"] };
    case "tmpfs": {
      const options = ["nosuid", "nodev", "mode=1777"];
      if (m.sizeBytes !== undefined) options.push(`size=${m.sizeBytes}`);
      return { destination: m.destination, type: "tmpfs", source: "tmpfs", options };
    }
  }
}

const defaultShmBytes = 64 * 1024 * 1024;

// RLIMIT_NOFILE as BuildKit sets it, then the build's --ulimit values, each replacing its namesake.
function rlimits(input: SpecInput): RuntimeSpec["process"]["rlimits"] {
  const nofile = input.nofile ?? defaultNofile;
  const byType = new Map([["RLIMIT_NOFILE", { soft: nofile, hard: nofile }]]);
  for (const u of input.ulimits ?? [])
    byType.set(`RLIMIT_${u.name.toUpperCase()}`, { soft: u.soft, hard: u.hard });
  return [...byType].map(([type, l]) => ({ type, ...l }));
}

/** Builds the config.json for one RUN step. Pure: every input comes in, nothing is read from disk. */
export function buildRuntimeSpec(input: SpecInput): RuntimeSpec {
  const namespaces = [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }];
  if (input.network === "none") namespaces.push({ type: "network" });

  const mounts: RuntimeMount[] = [
    ...(input.rootMount ? [input.rootMount] : []),
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", `size=${input.shmSizeBytes ?? defaultShmBytes}`],
    },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    { destination: "/etc/hosts", type: "bind", source: input.hostsFile, options: ["rbind", "rw"] },
    { destination: "/etc/resolv.conf", type: "bind", source: input.resolvConfFile, options: ["rbind", "rw"] },
    ...input.mounts.map(extraMount),
  ];

  const insecure = input.security === "insecure";
  const capabilities = insecure ? (input.privilegedCapabilities ?? allCapabilities) : defaultCapabilities;
  const user: RuntimeSpec["process"]["user"] = { uid: input.user.uid, gid: input.user.gid };
  if (input.user.additionalGids.length > 0) user.additionalGids = [...input.user.additionalGids];

  const spec: RuntimeSpec = {
    ociVersion: "1.0.2",
    process: {
      terminal: input.terminal ?? false,
      user,
      args: [...input.args],
      env: processEnv(input.env, input.user.home),
      cwd: input.cwd,
      capabilities: {
        bounding: [...capabilities],
        effective: [...capabilities],
        permitted: [...capabilities],
      },
      rlimits: rlimits(input),
      noNewPrivileges: false,
    },
    root: { path: input.rootfs, readonly: input.readonlyRootfs },
    hostname: input.hostname,
    mounts,
    linux: {
      namespaces,
      devices: defaultDevices.map((d) => ({ ...d })),
      resources: {
        devices: [
          { allow: false, access: "rwm" },
          ...defaultDevices.map((d) => ({
            allow: true,
            type: "c" as const,
            major: d.major,
            minor: d.minor,
            access: "rwm",
          })),
          { allow: true, type: "c", major: 5, minor: 2, access: "rwm" },
          { allow: true, type: "c", major: 136, access: "rwm" },
        ],
      },
      maskedPaths: insecure ? [] : [...maskedPaths],
      readonlyPaths: insecure ? [] : [...readonlyPaths],
    },
  };
  const seccomp = insecure ? undefined : defaultSeccompProfile(capabilities);
  if (seccomp) spec.linux.seccomp = seccomp;
  if (input.cgroupsPath !== undefined) spec.linux.cgroupsPath = input.cgroupsPath;
  return spec;
}
