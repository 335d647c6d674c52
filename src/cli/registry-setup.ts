import { openContentStore } from "../content/index.ts";
import { RegistryClients } from "../registry/registry-clients.ts";
import { redactSecrets } from "./report-error.ts";

export interface RegistryCliOptions {
  insecureRegistry?: string[];
}

/** Registry clients configured from flags and environment, with --debug HTTP logging (secrets removed). */
export function registryClientsFor(opts: RegistryCliOptions, debug: boolean): RegistryClients {
  const fromEnv = (process.env.POLYARCH_INSECURE_REGISTRIES ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return new RegistryClients({
    insecureRegistries: [...fromEnv, ...(opts.insecureRegistry ?? [])],
    ...(debug ? { log: (line: string) => process.stderr.write(`debug: ${redactSecrets(line)}\n`) } : {}),
  });
}

export { openContentStore };
