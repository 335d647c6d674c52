import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { jsonSyntaxProblem } from "../errors/json-syntax.ts";
import { UserError } from "../errors/user-error.ts";
import { dockerHubRegistry } from "./reference.ts";

/** Credentials for one registry. Never printed: see redactSecrets in the CLI and `describeCredentials`. */
export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`identitytoken` in Docker's config) exchanged at the token endpoint. */
  identityToken?: string;
  /** A registry token used as-is for bearer auth (`registrytoken`). */
  registryToken?: string;
}

export interface CredentialSource {
  get(registry: string): Promise<Credentials | undefined>;
}

interface DockerConfigFile {
  auths?: Record<
    string,
    { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }
  >;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Where Docker keeps config.json: $DOCKER_CONFIG, else ~/.docker ($HOME of the given environment). */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), ".docker");
}

/** The keys Docker's config may use for a registry (Docker Hub is stored under its legacy v1 URL). */
function configKeys(registry: string): string[] {
  if (registry === dockerHubRegistry) {
    return [
      "https://index.docker.io/v1/",
      "index.docker.io",
      "docker.io",
      "registry-1.docker.io",
      "https://registry-1.docker.io",
    ];
  }
  return [
    registry,
    `https://${registry}`,
    `http://${registry}`,
    `https://${registry}/v1/`,
    `https://${registry}/v2/`,
  ];
}

/**
 * Reads credentials the way the Docker CLI does: a per-registry `credHelpers` entry wins, then the global
 * `credsStore`, then inline `auths`. Helper programs are `docker-credential-<name>` on PATH.
 */
export class DockerConfigCredentials implements CredentialSource {
  readonly #dir: string;
  #config: Promise<DockerConfigFile> | undefined;
  readonly #cache = new Map<string, Promise<Credentials | undefined>>();

  constructor(dir: string = dockerConfigDir()) {
    this.#dir = dir;
  }

  #load(): Promise<DockerConfigFile> {
    this.#config ??= (async () => {
      const file = join(this.#dir, "config.json");
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
        throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
      }
      try {
        return JSON.parse(text) as DockerConfigFile;
      } catch (e) {
        throw new UserError(`${file} is not valid: ${jsonSyntaxProblem(e, text)}`, {
          hint: "fix or remove the file, or point DOCKER_CONFIG at another directory",
        });
      }
    })();
    return this.#config;
  }

  get(registry: string): Promise<Credentials | undefined> {
    let p = this.#cache.get(registry);
    if (!p) {
      p = this.#lookup(registry);
      this.#cache.set(registry, p);
    }
    return p;
  }

  async #lookup(registry: string): Promise<Credentials | undefined> {
    const config = await this.#load();
    const keys = configKeys(registry);
    const helper = keys.map((k) => config.credHelpers?.[k]).find(Boolean);
    if (helper) return runCredentialHelper(helper, keys[0]!, registry);
    if (config.credsStore) {
      const fromStore = await runCredentialHelper(config.credsStore, keys[0]!, registry);
      if (fromStore) return fromStore;
    }
    for (const k of keys) {
      const entry = config.auths?.[k];
      if (!entry) continue;
      const creds: Credentials = {};
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        if (colon < 0)
          throw new UserError(
            `the saved credentials for ${registry} in ${join(this.#dir, "config.json")} are malformed`,
            { hint: `log in again to ${registry}` },
          );
        creds.username = decoded.slice(0, colon);
        creds.password = decoded.slice(colon + 1);
      }
      if (entry.username) creds.username = entry.username;
      if (entry.password) creds.password = entry.password;
      if (entry.identitytoken) creds.identityToken = entry.identitytoken;
      if (entry.registrytoken) creds.registryToken = entry.registrytoken;
      if (Object.keys(creds).length) return creds;
    }
    return undefined;
  }
}

/** Runs `docker-credential-NAME get` with the server URL on stdin, as the credential helper protocol says. */
async function runCredentialHelper(
  name: string,
  serverUrl: string,
  registry: string,
): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`;
  const out = await new Promise<{ code: number | null; stdout: string; error?: Error }>((resolve) => {
    const child = spawn(program, ["get"], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.resume();
    child.on("error", (error) => resolve({ code: null, stdout, error }));
    child.on("close", (code) => resolve({ code, stdout }));
    child.stdin.end(serverUrl);
  });
  if (out.error) {
    throw new UserError(
      `credential helper ${program} for ${registry} could not be run (${(out.error as NodeJS.ErrnoException).code ?? out.error.message})`,
      {
        hint: `install ${program} on PATH, or remove it from credHelpers/credsStore in ${join(dockerConfigDir(), "config.json")}`,
      },
    );
  }
  // Helpers answer "credentials not found" on stdout with a non-zero exit: that just means anonymous.
  if (out.code !== 0) {
    if (/credentials not found/i.test(out.stdout)) return undefined;
    throw new UserError(`credential helper ${program} failed for ${registry} (exit ${out.code})`, {
      hint: `run \`echo ${serverUrl} | ${program} get\` to see why`,
    });
  }
  let parsed: { Username?: string; Secret?: string };
  try {
    parsed = JSON.parse(out.stdout) as { Username?: string; Secret?: string };
  } catch {
    throw new UserError(`credential helper ${program} printed something that is not JSON for ${registry}`);
  }
  if (!parsed.Secret) return undefined;
  // The protocol's convention: a username of <token> means the secret is an identity (refresh) token.
  if (parsed.Username === "<token>") return { identityToken: parsed.Secret };
  return { username: parsed.Username ?? "", password: parsed.Secret };
}

/** A fixed set of credentials, for library users who manage secrets themselves. */
export class StaticCredentials implements CredentialSource {
  readonly #map: Map<string, Credentials>;
  constructor(entries: Record<string, Credentials>) {
    this.#map = new Map(Object.entries(entries));
  }
  async get(registry: string): Promise<Credentials | undefined> {
    return this.#map.get(registry);
  }
}
