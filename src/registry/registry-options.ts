import type { CredentialSource } from "./credentials.ts";

/** How polyarch talks to registries; every field has a sensible default. */
export interface RegistryOptions {
  /** Where credentials come from; defaults to Docker's config.json ($DOCKER_CONFIG). */
  credentials?: CredentialSource;
  /**
   * Registries that may be reached over plain HTTP or with an unverified TLS certificate. Loopback
   * registries (localhost, 127.0.0.0/8, ::1) may always use plain HTTP, as Docker allows.
   */
  insecureRegistries?: readonly string[];
  /** Docker's certs.d layout: `<dir>/<host[:port]>/*.crt` are extra CAs, client.cert/client.key for mTLS. */
  certsDir?: string;
  /**
   * Attempts for a request that fails with 429, 5xx, a reset or refused connection, or (for manifests, tags
   * and tokens, which are read whole) a body cut short (default 10).
   */
  maxAttempts?: number;
  /** First back-off delay in ms, doubled each attempt up to 5 s, with jitter (default 200). */
  retryBaseMs?: number;
  /** Upper bound on any one wait, including a server's Retry-After (default 30 s). */
  retryMaxMs?: number;
  /** Blobs moved at once in a pull or push (default 4). */
  concurrency?: number;
  /** Upload blobs larger than this in PATCH chunks of this size; undefined uploads in one PUT. */
  chunkSize?: number;
  /** Receives one line per HTTP exchange (method, URL, status) for --debug; never headers or secrets. */
  log?: (line: string) => void;
  userAgent?: string;
}

export function defaultCertsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.POLYARCH_REGISTRY_CERTS_DIR || "/etc/docker/certs.d";
}
