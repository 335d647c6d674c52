/**
 * An ssh node's endpoint, `ssh://[user@]host[:port]`, and the system OpenSSH client's command line for it.
 * The user's keys, agent, ~/.ssh/config and known_hosts apply as for any `ssh`; polyarch adds only
 * BatchMode (never a prompt polyarch cannot show) and a connect timeout. POLYARCH_SSH_CONFIG names another
 * config file (`ssh -F`), as a test or a CI job needs.
 *
 * The endpoint is the user's, but it becomes arguments of a program: a host or user that starts with `-`
 * would be read as an option (`-oProxyCommand=…`), so each part is checked against a plain-token pattern.
 */
import { UserError } from "../../errors/user-error.ts";

export interface SshEndpoint {
  user: string | undefined;
  host: string;
  port: number | undefined;
}

const USER = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])$/;

export function parseSshEndpoint(text: string): SshEndpoint {
  const hint = "give it as ssh://user@host or ssh://user@host:port (a Host of ~/.ssh/config works too)";
  const m = /^ssh:\/\/(?:([^@/]*)@)?([^/:@]+|\[[^\]/@]*\])(?::(\d{1,5}))?\/?$/.exec(text);
  if (!m) throw new UserError(`invalid ssh endpoint ${JSON.stringify(text)}`, { hint });
  const [, user, host, port] = m;
  if (user !== undefined && !USER.test(user))
    throw new UserError(`invalid user in ssh endpoint ${JSON.stringify(text)}`, { hint });
  if (!HOST.test(host!))
    throw new UserError(`invalid host in ssh endpoint ${JSON.stringify(text)}`, { hint });
  const n = port === undefined ? undefined : Number(port);
  if (n !== undefined && (n < 1 || n > 65535))
    throw new UserError(`invalid port in ssh endpoint ${JSON.stringify(text)}`, { hint });
  return { user, host: host!.replace(/^\[(.*)\]$/, "$1"), port: n };
}

export function formatSshEndpoint(e: SshEndpoint): string {
  const host = e.host.includes(":") ? `[${e.host}]` : e.host;
  return `ssh://${e.user ? `${e.user}@` : ""}${host}${e.port ? `:${e.port}` : ""}`;
}

/**
 * `ssh` arguments that run `remote` (fixed words of polyarch's, never user text) on the node. `--` ends
 * the options, so nothing after it is read as one.
 */
export function sshArgs(
  e: SshEndpoint,
  remote: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  for (const w of remote) if (!/^[A-Za-z0-9._=/-]+$/.test(w)) throw new Error(`unsafe remote word ${w}`);
  return [
    ...(env.POLYARCH_SSH_CONFIG ? ["-F", env.POLYARCH_SSH_CONFIG] : []),
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "ServerAliveInterval=5",
    "-o",
    "ServerAliveCountMax=3",
    ...(e.port !== undefined ? ["-p", String(e.port)] : []),
    ...(e.user !== undefined ? ["-l", e.user] : []),
    "--",
    e.host,
    ...remote,
  ];
}
