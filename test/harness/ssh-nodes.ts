import { type ChildProcess, spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { runOk } from "./exec.ts";

/**
 * Machines of a build farm, simulated on this host: each node is a Debian openssh-server of its own on
 * its own loopback address (127.0.0.2, 127.0.0.3, …) with its own host key, accepting one generated
 * client key, whose logins get the node's own state directory (POLYARCH_ROOT, through authorized_keys
 * `environment=`) and a PATH where `polyarch` is this checkout's bin/polyarch.mjs. The client side is an
 * ssh config file (POLYARCH_SSH_CONFIG) naming the key and a known_hosts with the nodes' host keys, so
 * host keys are checked as for a real machine.
 */
export interface SshNode {
  name: string;
  address: string;
  port: number;
  /** The node's POLYARCH_ROOT. */
  stateRoot: string;
  endpoint: string;
  /** Stops its sshd (the machine goes down); start() brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface SshNodes extends AsyncDisposable {
  dir: string;
  nodes: SshNode[];
  /** The environment a polyarch client needs to reach the nodes (POLYARCH_SSH_CONFIG). */
  env: Record<string, string>;
}

const repoRoot = new URL("../../", import.meta.url).pathname;

async function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, address, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(address: string, port: number, child: ChildProcess): Promise<void> {
  const { connect } = await import("node:net");
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`sshd on ${address}:${port} exited (${child.exitCode})`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, address);
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`sshd on ${address}:${port} did not listen`);
}

/** Every process below `pid`, read from /proc (parent ids), by id. */
async function descendants(pid: number): Promise<number[]> {
  const { readdir } = await import("node:fs/promises");
  const parent = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const m = /\) \S (\d+)/.exec(stat);
    if (m) parent.set(Number(entry), Number(m[1]));
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, pp] of parent) {
      if (pp === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

export async function startSshNodes(names: readonly string[]): Promise<SshNodes> {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-farm-"));
  await chmod(dir, 0o755);
  const daemons = new Map<string, ChildProcess>();
  try {
    const keyFile = join(dir, "id_client");
    await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "polyarch-farm-test", "-f", keyFile]);
    const publicKey = (await readFile(`${keyFile}.pub`, "utf8")).trim();
    // `polyarch` on the nodes' PATH: this checkout, run by this Node.
    const bin = join(dir, "bin");
    await mkdir(bin);
    await writeFile(
      join(bin, "polyarch"),
      `#!/bin/sh\nexec ${process.execPath} ${join(repoRoot, "bin/polyarch.mjs")} "$@"\n`,
      { mode: 0o755 },
    );
    await mkdir("/run/sshd", { recursive: true, mode: 0o755 });
    const knownHosts: string[] = [];
    const sshConfig: string[] = [];
    const nodes: SshNode[] = [];
    for (const [i, name] of names.entries()) {
      const address = `127.0.0.${i + 2}`;
      const nodeDir = join(dir, name);
      const stateRoot = join(nodeDir, "state");
      await mkdir(stateRoot, { recursive: true, mode: 0o700 });
      await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(nodeDir, "host_key")]);
      const hostPub = (await readFile(join(nodeDir, "host_key.pub"), "utf8")).trim().split(" ");
      const port = await freePort(address);
      knownHosts.push(`[${address}]:${port} ${hostPub[0]} ${hostPub[1]}`);
      const env = [`POLYARCH_ROOT=${stateRoot}`, `PATH=${bin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`];
      await writeFile(
        join(nodeDir, "authorized_keys"),
        `${env.map((e) => `environment="${e}"`).join(",")} ${publicKey}\n`,
      );
      await writeFile(
        join(nodeDir, "sshd_config"),
        [
          `Port ${port}`,
          `ListenAddress ${address}`,
          `HostKey ${join(nodeDir, "host_key")}`,
          `PidFile ${join(nodeDir, "sshd.pid")}`,
          `AuthorizedKeysFile ${join(nodeDir, "authorized_keys")}`,
          "PermitUserEnvironment yes",
          "StrictModes no",
          "UsePAM no",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "PermitRootLogin prohibit-password",
          "",
        ].join("\n"),
      );
      sshConfig.push(
        `Host ${address}`,
        `  Port ${port}`,
        "  User root",
        `  IdentityFile ${keyFile}`,
        "  IdentitiesOnly yes",
        `  UserKnownHostsFile ${join(dir, "known_hosts")}`,
        "  StrictHostKeyChecking yes",
        "  LogLevel ERROR",
        "",
      );
      const start = async () => {
        const sshd = spawn(
          "setpriv",
          ["--pdeathsig", "KILL", "/usr/sbin/sshd", "-D", "-e", "-f", join(nodeDir, "sshd_config")],
          { stdio: ["ignore", "ignore", "ignore"] },
        );
        daemons.set(name, sshd);
        await waitForPort(address, port, sshd);
      };
      // The machine goes down: sshd and every session it runs (each login is a child process of sshd,
      // which outlives its parent), so connections drop as with a power cut.
      const stop = async () => {
        const d = daemons.get(name);
        daemons.delete(name);
        if (!d || d.exitCode !== null || d.pid === undefined) return;
        const gone = new Promise((resolve) => d.once("exit", resolve));
        const tree = await descendants(d.pid);
        d.kill("SIGKILL");
        for (const pid of tree) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
        await gone;
      };
      await start();
      nodes.push({ name, address, port, stateRoot, endpoint: `ssh://root@${address}:${port}`, stop, start });
    }
    await writeFile(join(dir, "known_hosts"), `${knownHosts.join("\n")}\n`);
    await writeFile(join(dir, "ssh_config"), sshConfig.join("\n"));
    return {
      dir,
      nodes,
      env: { POLYARCH_SSH_CONFIG: join(dir, "ssh_config") },
      async [Symbol.asyncDispose]() {
        for (const n of nodes) await n.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    for (const d of daemons.values()) d.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
