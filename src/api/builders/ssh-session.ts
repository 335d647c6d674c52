/**
 * A build channel to an ssh node: `ssh … polyarch node-serve` with the wire protocol on its stdio. The
 * session ends when the client closes it, or when ssh exits (the machine went down, sshd was killed, the
 * network broke): then every pending request fails with the node's name, endpoint and ssh's last line.
 */
import { spawn } from "node:child_process";
import { UserError } from "../../errors/user-error.ts";
import type { NodeRecord } from "./builder-record.ts";
import { type NodeInfo, parseNodeInfo } from "./node-info.ts";
import { lastLine } from "./node-text.ts";
import { parseSshEndpoint, sshArgs } from "./ssh-endpoint.ts";
import { Wire } from "./wire.ts";

export interface NodeSession {
  wire: Wire;
  /** What the node said it is in its hello. */
  info: NodeInfo;
  close(): Promise<void>;
}

export async function openSshSession(
  node: NodeRecord,
  version: string,
  signal: AbortSignal,
): Promise<NodeSession> {
  const child = spawn("ssh", sshArgs(parseSshEndpoint(node.endpoint), ["polyarch", "node-serve"]), {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const where = `node ${node.name} (${node.endpoint})`;
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    if (stderr.length < 1 << 16) stderr += c.toString("utf8");
  });
  const wire = new Wire(child.stdout, child.stdin, { ownsEnd: true });
  const exited = new Promise<void>((resolve) => {
    child.on("error", (e: NodeJS.ErrnoException) => {
      wire.close(
        e.code === "ENOENT"
          ? new UserError("the ssh client is not installed", { hint: "apt-get install openssh-client" })
          : new UserError(`${where}: ${e.message}`),
      );
      resolve();
    });
    child.on("close", (code, sig) => {
      const why = lastLine(stderr) || (sig ? `ssh was killed (${sig})` : `ssh exited with ${code}`);
      wire.close(
        new UserError(`${where} disconnected: ${why}`, {
          hint:
            code === 127
              ? "install polyarch there (`npm install -g polyarch`); `polyarch inspect --bootstrap` checks every node"
              : "`polyarch inspect --bootstrap` checks that every node answers; --allow-fallback builds its platforms elsewhere",
        }),
      );
      resolve();
    });
  });
  const onAbort = () => child.kill("SIGTERM");
  signal.addEventListener("abort", onAbort, { once: true });
  const close = async () => {
    signal.removeEventListener("abort", onAbort);
    child.stdin.end();
    const t = setTimeout(() => child.kill("SIGTERM"), 10_000);
    await exited;
    clearTimeout(t);
  };
  const hello = new Promise<Record<string, unknown>>((resolve, reject) => {
    wire.on("hello", resolve);
    wire.onClose(reject);
  });
  // A node that logs in but never says hello (a hung login shell) is given up on, as a probe would be.
  const helloTimer = setTimeout(() => child.kill("SIGTERM"), 30_000);
  let info: NodeInfo;
  try {
    const h = await hello;
    clearTimeout(helloTimer);
    if (h.version !== version) {
      throw new UserError(`${where} runs polyarch ${String(h.version).slice(0, 40)}, this is ${version}`, {
        hint: `install polyarch ${version} there`,
      });
    }
    info = parseNodeInfo(JSON.stringify(h.info ?? null), node.name);
  } catch (e) {
    clearTimeout(helloTimer);
    child.kill("SIGTERM");
    await exited;
    throw e;
  }
  return { wire, info, close };
}
