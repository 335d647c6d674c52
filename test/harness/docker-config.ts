import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** How a DOCKER_CONFIG directory hands out the credentials: inline, or through a credential helper program. */
export type CredentialSource = "auths" | "credHelpers" | "credsStore";

export interface DockerConfigDir {
  dir: string;
  /** Environment a client needs: DOCKER_CONFIG, and PATH with the helper's directory when one is used. */
  env: Record<string, string>;
}

const helperName = "polyarch-test";

/**
 * Writes `dir/config.json` as `docker login` would for `host`. With credHelpers/credsStore it also writes
 * `dir/bin/docker-credential-polyarch-test`, a helper speaking Docker's credential-helper protocol (`get`
 * reads the server from stdin and prints {ServerURL, Username, Secret}).
 */
export async function writeDockerConfig(
  dir: string,
  host: string,
  credentials: { username: string; password: string },
  via: CredentialSource = "auths",
): Promise<DockerConfigDir> {
  await mkdir(dir, { recursive: true });
  const env: Record<string, string> = { DOCKER_CONFIG: dir };
  let config: Record<string, unknown>;
  if (via === "auths") {
    const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64");
    config = { auths: { [host]: { auth } } };
  } else {
    const bin = join(dir, "bin");
    await mkdir(bin, { recursive: true });
    const answer = JSON.stringify({
      ServerURL: host,
      Username: credentials.username,
      Secret: credentials.password,
    });
    const script = [
      "#!/bin/sh",
      "# Test credential helper: knows one registry; `get` only, as a read-only store would.",
      '[ "$1" = get ] || { echo "unsupported: $1" >&2; exit 1; }',
      "read -r server",
      `case "$server" in ${host}|https://${host}|http://${host}) printf '%s\\n' '${answer}' ;;`,
      '  *) echo "credentials not found in native keychain"; exit 1 ;;',
      "esac",
      "",
    ].join("\n");
    const helper = join(bin, `docker-credential-${helperName}`);
    await writeFile(helper, script);
    await chmod(helper, 0o755);
    env.PATH = `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`;
    config = via === "credsStore" ? { credsStore: helperName } : { credHelpers: { [host]: helperName } };
  }
  await writeFile(join(dir, "config.json"), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return { dir, env };
}
