import type { RegistryOptions } from "../registry/registry-options.ts";
import { redactSecrets } from "./report-error.ts";

export interface RegistryCliOptions {
  insecureRegistry?: string[];
}

/**
 * Registry options from flags and environment (`--insecure-registry`, POLYARCH_INSECURE_REGISTRIES), with
 * --debug HTTP logging (secrets removed). Every command that talks to registries starts here.
 */
export function registryOptionsFor(opts: RegistryCliOptions, debug: boolean): RegistryOptions {
  const insecure = [
    ...(process.env.POLYARCH_INSECURE_REGISTRIES ?? "").split(","),
    ...(opts.insecureRegistry ?? []),
  ]
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    insecureRegistries: insecure,
    ...(debug ? { log: (line: string) => process.stderr.write(`debug: ${redactSecrets(line)}\n`) } : {}),
  };
}
