import type { SeccompProfile } from "./seccomp-profile.ts";

/**
 * The part of the OCI runtime-spec config.json that polyarch writes. Field names are the spec's own
 * (config.md, config-linux.md); everything not listed here is left to runc's defaults.
 */
export interface RuntimeMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface RuntimeDevice {
  path: string;
  type: "c" | "b" | "u" | "p";
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

export interface RuntimeDeviceRule {
  allow: boolean;
  type?: "a" | "c" | "b";
  major?: number;
  minor?: number;
  access: string;
}

export interface RuntimeSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    rlimits: { type: string; soft: number; hard: number }[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: RuntimeMount[];
  linux: {
    namespaces: { type: string }[];
    devices: RuntimeDevice[];
    resources: { devices: RuntimeDeviceRule[] };
    maskedPaths: string[];
    readonlyPaths: string[];
    cgroupsPath?: string;
    seccomp?: SeccompProfile;
  };
}
