import type { ImageReference } from "./reference.ts";
import type { RegistryOptions } from "./registry-options.ts";
import { RepositoryClient } from "./repository-client.ts";
import { RegistryTransport } from "./transport.ts";

/**
 * One transport (connection pool, tokens, scheme) per registry host, shared by every repository on it, so a
 * build that touches several repositories of one registry authenticates and connects once per host.
 */
export class RegistryClients {
  readonly options: RegistryOptions;
  readonly #transports = new Map<string, RegistryTransport>();

  constructor(options: RegistryOptions = {}) {
    this.options = options;
  }

  transport(registry: string): RegistryTransport {
    let t = this.#transports.get(registry);
    if (!t) {
      t = new RegistryTransport(registry, this.options);
      this.#transports.set(registry, t);
    }
    return t;
  }

  repository(ref: Pick<ImageReference, "registry" | "repository">): RepositoryClient {
    return new RepositoryClient(this.transport(ref.registry), ref.repository, this.options.chunkSize);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#transports.values()].map((t) => t.close()));
    this.#transports.clear();
  }
}
