import { openContentStore } from "../content/index.ts";
import { RegistryClients } from "../registry/registry-clients.ts";
import { type RegistryCliOptions, registryOptionsFor } from "./registry-cli-options.ts";

export function registryClientsFor(opts: RegistryCliOptions, debug: boolean): RegistryClients {
  return new RegistryClients(registryOptionsFor(opts, debug));
}

export { openContentStore };
