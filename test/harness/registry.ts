import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Daemon, forgetDir, removeOnExit, startDaemon } from "./daemon.ts";
import { type CredentialSource, type DockerConfigDir, writeDockerConfig } from "./docker-config.ts";
import { runOk } from "./exec.ts";
import { generatePki, generateSigningCert } from "./tls.ts";
import { type GrantPolicy, startTokenServer, type TokenServer } from "./token-server.ts";

/**
 * A real registry for tests: Debian's CNCF distribution registry (v2.8), on a free loopback port, with its
 * own temp storage. Three set-ups, as users meet them: plain HTTP without auth; TLS (own CA) with htpasswd
 * basic auth; bearer tokens from a token server (test/harness/token-server.ts).
 *
 *   const reg = await startRegistry({ auth: "token" });
 *   t.after(() => reg.stop());              // or: await using reg = await startRegistry(...)
 */

export type RegistryAuth = "none" | "basic" | "token";

export interface RegistryOptions {
  auth?: RegistryAuth;
  /** Serve HTTPS with a generated CA. Default: true for basic auth, false otherwise. */
  tls?: boolean;
  username?: string;
  /** Default: a random password, so a test can assert it never appears in output. */
  password?: string;
  /** Token auth: which of the requested actions a user gets (default: everything, nothing for anonymous). */
  grant?: GrantPolicy;
  tokenTtlSeconds?: number;
  /** Token auth: name the signing key in the JWT header by `x5c` (default) or libtrust `kid`. */
  tokenKeyHeader?: "x5c" | "kid";
}

export interface Credentials {
  username: string;
  password: string;
}

export interface TestRegistry extends AsyncDisposable {
  /** "127.0.0.1:PORT", the registry part of references. */
  host: string;
  /** "http://127.0.0.1:PORT" or "https://…". */
  url: string;
  tls: boolean;
  auth: RegistryAuth;
  /** The user that may push and pull; undefined without auth. */
  credentials: Credentials | undefined;
  /** The CA that signed the server certificate (TLS only). */
  caCertPath: string | undefined;
  /** `<certsDir>/<host>/ca.crt`, Docker's certs.d layout, for POLYARCH_REGISTRY_CERTS_DIR (TLS only). */
  certsDir: string | undefined;
  tokenServer: TokenServer | undefined;
  /** The registry's blob and manifest storage. */
  storageDir: string;
  /** `host/name`, e.g. reg.ref("library/busybox:latest"). */
  ref(nameAndTag: string): string;
  /** Environment our client needs for this registry (POLYARCH_REGISTRY_CERTS_DIR when TLS). */
  env(): Record<string, string>;
  /**
   * Writes a DOCKER_CONFIG directory with credentials for this registry (a fresh temp dir, removed by stop(),
   * unless `dir` is given). `password` overrides the real one, to test a wrong password.
   */
  dockerConfig(options?: {
    dir?: string;
    via?: CredentialSource;
    password?: string;
  }): Promise<DockerConfigDir>;
  /**
   * skopeo flags to reach this registry: `--tls-verify=false` / `--cert-dir`, `--creds`. With `role` the
   * copy-style `--src-…`/`--dest-…` names; without, the names of inspect, delete and list-tags.
   */
  skopeoFlags(role?: "src" | "dest"): string[];
  /** The registry's log, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

const service = "polyarch-test-registry";
const issuer = "polyarch-test-token-issuer";

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const auth = options.auth ?? "none";
  const tls = options.tls ?? auth === "basic";
  const root = await mkdtemp(join(tmpdir(), "polyarch-registry-"));
  removeOnExit(root);
  let daemon: Daemon | undefined;
  let tokenServer: TokenServer | undefined;
  const cleanup = async () => {
    await daemon?.stop();
    await tokenServer?.stop();
    await rm(root, { recursive: true, force: true });
    forgetDir(root);
  };
  try {
    const credentials: Credentials | undefined =
      auth === "none"
        ? undefined
        : {
            username: options.username ?? "polyarch",
            password: options.password ?? `pw-${randomBytes(12).toString("hex")}`,
          };
    const pki = tls ? await generatePki(join(root, "pki")) : undefined;

    const config: Record<string, unknown> = {
      version: "0.1",
      log: { level: "info", formatter: "text", accesslog: { disabled: true } },
      storage: {
        filesystem: { rootdirectory: join(root, "data") },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: {
        // Port 0: the kernel picks a free port and the registry logs it, so there is no race for it.
        addr: "127.0.0.1:0",
        secret: randomBytes(16).toString("hex"),
        ...(pki ? { tls: { certificate: pki.serverCert, key: pki.serverKey } } : {}),
      },
    };
    if (auth === "basic" && credentials) {
      const line = await runOk("htpasswd", ["-Bbn", credentials.username, credentials.password]);
      const htpasswd = join(root, "htpasswd");
      await writeFile(htpasswd, line.stdout.trim() + "\n");
      config.auth = { htpasswd: { realm: "polyarch-test", path: htpasswd } };
    }
    if (auth === "token" && credentials) {
      const signing = await generateSigningCert(join(root, "token"));
      tokenServer = await startTokenServer({
        service,
        issuer,
        signingCert: signing.cert,
        signingKey: signing.key,
        users: { [credentials.username]: credentials.password },
        ...(options.grant ? { grant: options.grant } : {}),
        ...(options.tokenKeyHeader ? { keyHeader: options.tokenKeyHeader } : {}),
        ...(options.tokenTtlSeconds ? { tokenTtlSeconds: options.tokenTtlSeconds } : {}),
        ...(pki ? { tls: { cert: pki.serverCert, key: pki.serverKey } } : {}),
      });
      config.auth = {
        token: { realm: tokenServer.realm, service, issuer, rootcertbundle: signing.cert },
      };
    }
    // JSON is YAML, and spares us quoting paths.
    const configPath = join(root, "config.yml");
    await writeFile(configPath, JSON.stringify(config, null, 2));

    daemon = await startDaemon("docker-registry", ["serve", configPath], /listening on 127\.0\.0\.1:(\d+)/);
    const host = `127.0.0.1:${daemon.ready[1]}`;
    const url = `${tls ? "https" : "http"}://${host}`;
    const ca = pki ? await readFile(pki.caCert) : undefined;
    await waitForV2(url, ca);

    let certsDir: string | undefined;
    if (pki) {
      certsDir = join(root, "certs.d");
      await mkdir(join(certsDir, host), { recursive: true });
      await copyFile(pki.caCert, join(certsDir, host, "ca.crt"));
      if (tokenServer) {
        // The token realm is another host:port served with the same certificate; trust it the same way.
        const realmHost = new URL(tokenServer.realm).host;
        await mkdir(join(certsDir, realmHost), { recursive: true });
        await copyFile(pki.caCert, join(certsDir, realmHost, "ca.crt"));
      }
    }

    let configCount = 0;
    const theDaemon = daemon;
    const handle: TestRegistry = {
      host,
      url,
      tls,
      auth,
      credentials,
      caCertPath: pki?.caCert,
      certsDir,
      tokenServer,
      storageDir: join(root, "data"),
      ref: (nameAndTag) => `${host}/${nameAndTag}`,
      env: (): Record<string, string> => (certsDir ? { POLYARCH_REGISTRY_CERTS_DIR: certsDir } : {}),
      async dockerConfig(o = {}) {
        const creds = credentials ?? { username: "nobody", password: "" };
        const dir = o.dir ?? join(root, `docker-config-${++configCount}`);
        return writeDockerConfig(dir, host, { ...creds, password: o.password ?? creds.password }, o.via);
      },
      skopeoFlags(role) {
        const flag = (name: string) => (role ? `--${role}-${name}` : `--${name}`);
        const out = certsDir
          ? [`${flag("cert-dir")}=${join(certsDir, host)}`]
          : [`${flag("tls-verify")}=false`];
        if (credentials) out.push(`${flag("creds")}=${credentials.username}:${credentials.password}`);
        return out;
      },
      log: () => theDaemon.output(),
      stop: cleanup,
      [Symbol.asyncDispose]: cleanup,
    };
    return handle;
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Waits until the registry answers /v2/ at all (200, or 401 when it wants auth). */
async function waitForV2(url: string, ca: Buffer | undefined): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const status = await getStatus(`${url}/v2/`, ca);
      if (status === 200 || status === 401) return;
      last = `status ${status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`registry at ${url} never answered /v2/ (${last})`);
}

function getStatus(url: string, ca: Buffer | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith("https:") ? httpsRequest : httpRequest)(
      url,
      { method: "GET", ca, agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.setTimeout(2_000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}
