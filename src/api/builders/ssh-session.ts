/**
 * A build channel to an ssh node: `ssh … polyarch node-serve` with the wire protocol on its stdio. The
 * session ends when the client closes it, or when ssh exits (the machine went down, sshd was killed, the
 * network broke): then every pending request fails with the node's name, endpoint and ssh's last line.
 */
import { spawn } from "node:child_process";
import { UserError } from "../../errors/user-error.ts";
import type { NodeRecord } from "./builder-record.ts";
import { lastLine } from "./ssh-driver.ts";
import { parseSshEndpoint, sshArgs } from "./ssh-endpoint.ts";
import { Wire } from "./wire.ts";

export interface NodeSession {
  wire: Wire;
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
  try {
    const h = await hello;
    if (h.version !== version) {
      throw new UserError(`${where} runs polyarch ${String(h.version).slice(0, 40)}, this is ${version}`, {
        hint: `install polyarch ${version} there`,
      });
    }
  } catch (e) {
    child.kill("SIGTERM");
    await exited;
    throw e;
  }
  return { wire, close };
}
