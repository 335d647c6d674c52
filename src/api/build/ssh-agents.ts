/**
 * `--ssh ID[=PATH[,PATH…]]`, as buildx reads it: no path forwards the agent at $SSH_AUTH_SOCK; one path that
 * is a socket forwards that agent; key files are served by an ssh-agent of our own (Debian's `ssh-agent`,
 * loaded with `ssh-add`), started on first use in a private 0700 directory and stopped with the build.
 *
 * polyarch never reads a key file: ssh-add does, straight into the agent's memory. The agent is started
 * as `ssh-agent -a SOCK sh -c 'read _; kill $SSH_AGENT_PID'` with our pipe on the shell's stdin, so it
 * also ends when this process dies without cleaning up (the pipe closes, the shell kills the agent).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { lstat, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { EnvironmentError } from "../../errors/environment-error.ts";
import { UserError } from "../../errors/user-error.ts";
import { makePrivateDir } from "../../fsutil/private-dir.ts";
import type { SshAgentProvider } from "../../solver/types.ts";

/** One `--ssh` value: an id and what it forwards (nothing: $SSH_AUTH_SOCK). */
export interface SshForward {
  id: string;
  paths: string[];
}

export interface SshAgents extends SshAgentProvider {
  /** Stops the agents this build started and removes their directories. */
  close(): Promise<void>;
}

interface StartedAgent {
  socket: string;
  dir: string;
  child: ChildProcess;
}

export function sshAgents(forwards: readonly SshForward[], env: NodeJS.ProcessEnv = process.env): SshAgents {
  const byId = new Map<string, SshForward>();
  for (const f of forwards) {
    if (f.paths.length === 0 && !env.SSH_AUTH_SOCK) {
      // buildx's words, then what to do.
      throw new UserError(
        `invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set (--ssh ${f.id} forwards your agent)`,
        {
          hint: `start one (eval $(ssh-agent); ssh-add), or give key files: --ssh ${f.id}=~/.ssh/id_ed25519`,
        },
      );
    }
    byId.set(f.id, f);
  }
  const started = new Map<string, Promise<StartedAgent>>();
  return {
    has: (id) => byId.has(id),
    async socket(id) {
      const f = byId.get(id);
      if (!f) return undefined;
      if (f.paths.length === 0) return env.SSH_AUTH_SOCK!;
      if (f.paths.length === 1 && (await isSocket(f.paths[0]!))) return f.paths[0]!;
      let agent = started.get(id);
      if (!agent) {
        agent = startAgent(f);
        started.set(id, agent);
      }
      return (await agent).socket;
    },
    async close() {
      const all = [...started.values()];
      started.clear();
      await Promise.all(all.map(async (p) => stopAgent(await p.catch(() => undefined))));
    },
  };
}

async function isSocket(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isSocket();
  } catch {
    return false;
  }
}

async function startAgent(f: SshForward): Promise<StartedAgent> {
  const dir = await makePrivateDir("sshAgent");
  if (!dir)
    throw new UserError("cannot create a private directory for the ssh agent", {
      hint: "make /dev/shm or $TMPDIR writable",
    });
  const socket = join(dir, "agent.sock");
  const child = spawn("ssh-agent", ["-a", socket, "sh", "-c", 'read _; kill "$SSH_AGENT_PID"'], {
    stdio: ["pipe", "ignore", "pipe"],
  });
  const agent: StartedAgent = { socket, dir, child };
  try {
    const exited = new Promise<Error>((resolve) => {
      child.once("error", resolve);
      child.once("exit", (code) => resolve(new Error(`ssh-agent exited with status ${code}`)));
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString("utf8");
    });
    for (let delay = 5; !(await isSocket(socket)); delay = Math.min(delay * 2, 100)) {
      const failed = await Promise.race([exited, sleep(delay).then(() => undefined)]);
      if (failed) {
        if ((failed as NodeJS.ErrnoException).code === "ENOENT")
          throw new EnvironmentError(
            "ENOENT",
            "ssh-agent is not installed (needed to serve --ssh key files)",
            {
              hint: "install it (apt-get install openssh-client), or load the keys into your own agent and use --ssh default",
              cause: failed,
            },
          );
        throw new UserError(
          `could not start ssh-agent for --ssh ${f.id}: ${lastLine(stderr) || failed.message}`,
          {
            hint: "load the keys into your own agent and use --ssh default",
          },
        );
      }
    }
    await addKeys(f, socket);
    return agent;
  } catch (e) {
    await stopAgent(agent);
    throw e;
  }
}

/** ssh-add in a session of its own: with no terminal it cannot prompt, so a passphrase fails instead of hanging. */
function addKeys(f: SshForward, socket: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      SSH_AUTH_SOCK: socket,
      SSH_ASKPASS_REQUIRE: "never",
    };
    const child = spawn("ssh-add", ["-q", "--", ...f.paths], {
      stdio: ["ignore", "ignore", "pipe"],
      env,
      detached: true,
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString("utf8");
    });
    child.on("error", (e) =>
      reject(
        (e as NodeJS.ErrnoException).code === "ENOENT"
          ? new EnvironmentError("ENOENT", "ssh-add is not installed (needed to serve --ssh key files)", {
              hint: "install it (apt-get install openssh-client)",
              cause: e,
            })
          : e,
      ),
    );
    child.on("close", (code) => {
      if (code === 0) return resolve();
      // ssh-add names the file and says why (format, passphrase); it never prints key material.
      reject(
        new UserError(
          `cannot load the ssh key(s) of --ssh ${f.id}: ${lastLine(stderr) || `ssh-add exited with status ${code}`}`,
          {
            hint: "give unencrypted private key files; for a passphrase-protected key, ssh-add it to your own agent and use --ssh default",
          },
        ),
      );
    });
  });
}

async function stopAgent(agent: StartedAgent | undefined): Promise<void> {
  if (!agent) return;
  const { child, dir } = agent;
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    // Closing the shell's stdin makes it kill the agent (see the top of this file).
    child.stdin?.end();
    await Promise.race([gone, sleep(2000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  await rm(dir, { recursive: true, force: true });
}

function lastLine(text: string): string {
  return text.trim().split("\n").pop()?.trim() ?? "";
}
