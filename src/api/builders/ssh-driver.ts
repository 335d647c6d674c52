import { spawn } from "node:child_process";
import { UserError } from "../../errors/user-error.ts";
import { type NodeDriver, type NodeStatus, registerNodeDriver } from "./node-driver.ts";
import { parseNodeInfo } from "./node-info.ts";
import { solveOnSession } from "./node-solve.ts";
import { lastLine } from "./node-text.ts";
import { formatSshEndpoint, parseSshEndpoint, sshArgs } from "./ssh-endpoint.ts";
import { openSshSession } from "./ssh-session.ts";

/** The plain `ssh` command a user would type to reach the endpoint (for hints). */
function sshCommandLine(endpoint: string): string {
  const e = parseSshEndpoint(endpoint);
  return ["ssh", ...(e.port ? ["-p", String(e.port)] : []), `${e.user ? `${e.user}@` : ""}${e.host}`].join(
    " ",
  );
}

/** The command polyarch runs on an ssh node to ask what it is. */
export const NODE_INFO_COMMAND = ["polyarch", "node-info"] as const;

/** Runs `remote` on the node over ssh and collects what it prints (bounded). */
export function runOverSsh(
  endpoint: string,
  remote: readonly string[],
  signal: AbortSignal,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = sshArgs(parseSshEndpoint(endpoint), remote);
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", args, { stdio: ["ignore", "pipe", "pipe"], signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    child.stdout.on("data", (c: Buffer) => {
      outLen += c.length;
      if (outLen <= 1 << 20) out.push(c);
    });
    child.stderr.on("data", (c: Buffer) => {
      errLen += c.length;
      if (errLen <= 1 << 16) err.push(c);
    });
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT")
        reject(new UserError("the ssh client is not installed", { hint: "apt-get install openssh-client" }));
      else if (e.name === "AbortError")
        reject(new UserError("no answer in time", { hint: "check that the machine is up" }));
      else reject(e);
    });
    child.on("close", (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
  });
}

/** polyarch on another machine, reached with the system OpenSSH client; nothing runs there between builds. */
export const sshDriver: NodeDriver = {
  name: "ssh",
  endpoint(given) {
    if (given === undefined) {
      throw new UserError("the ssh driver needs an endpoint", {
        hint: "e.g. `polyarch create --driver ssh ssh://user@arm-box`",
      });
    }
    return formatSshEndpoint(parseSshEndpoint(given));
  },
  // A build's probe is its session: the node's hello says what it is, so routing costs no extra login.
  async connect(node, options) {
    const session = await openSshSession(node, options.version, options.signal);
    return {
      info: session.info,
      solve: (req) => solveOnSession(node, session, req),
      close: () => session.close(),
    };
  },
  async probe(node, options): Promise<NodeStatus> {
    let r: Awaited<ReturnType<typeof runOverSsh>>;
    try {
      r = await runOverSsh(node.endpoint, NODE_INFO_COMMAND, options.signal);
    } catch (e) {
      if (e instanceof UserError) return { ok: false, error: e.message, ...(e.hint ? { hint: e.hint } : {}) };
      throw e;
    }
    if (r.code === 0) {
      try {
        return { ok: true, info: parseNodeInfo(r.stdout, node.name) };
      } catch (e) {
        if (e instanceof UserError)
          return { ok: false, error: e.message, ...(e.hint ? { hint: e.hint } : {}) };
        throw e;
      }
    }
    if (r.code === 255) {
      return {
        ok: false,
        error: lastLine(r.stderr) || "ssh failed",
        hint: `check that \`${sshCommandLine(node.endpoint)}\` logs in without a prompt (keys or agent, known_hosts)`,
      };
    }
    if (r.code === 127) {
      return {
        ok: false,
        error: "polyarch is not installed there (or not on the PATH of a non-interactive ssh login)",
        hint: "install it there: `npm install -g polyarch` (Node >= 22.15), then `polyarch inspect --bootstrap` again",
      };
    }
    return {
      ok: false,
      error: lastLine(r.stderr) || `polyarch node-info exited with ${r.code}`,
      hint: "install the same polyarch version there as here (`polyarch version` on both)",
    };
  },
};

registerNodeDriver(sshDriver);
