import { type ChildProcess, spawn } from "node:child_process";
import { chmod, copyFile, lstat, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { runOk } from "./exec.ts";

/**
 * SSH parts for tests of `--ssh` / `RUN --mount=type=ssh`, all Debian's openssh: a key pair, an sshd on
 * loopback that accepts only that key and answers every login with a fixed line (ForceCommand, so the
 * test's sshd runs nothing else on the host), an ssh-agent holding the key, and the files that give a
 * busybox image an ssh client (`ssh` and `ssh-add` with the shared libraries they load).
 */
export interface SshFixture extends AsyncDisposable {
  dir: string;
  /** Private key file (unencrypted) and its fingerprint as `ssh-add -l` prints it. */
  keyFile: string;
  fingerprint: string;
  /** The private key's base64 body lines: what must never show up anywhere. */
  keyBody: string[];
  port: number;
  /** What sshd answers every login with. */
  banner: string;
  /** Starts an ssh-agent of the test's own holding the key; returns its socket. */
  agent(): Promise<string>;
  /** A directory to COPY to / of a busybox image: /usr/bin/ssh, /usr/bin/ssh-add and their libraries. */
  clientRoot: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(path: string, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode})`);
    if (
      await lstat(path).then(
        () => true,
        () => false,
      )
    )
      return;
    await sleep(25);
  }
  throw new Error(`${what} did not create ${path}`);
}

/** ldd's list of the libraries a binary loads (with the loader). */
async function libraries(binary: string): Promise<string[]> {
  const out = await runOk("ldd", [binary]);
  return [...out.stdout.matchAll(/(\/\S+)\s+\(0x/g)].map((m) => m[1]!);
}

export async function startSshFixture(): Promise<SshFixture> {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-ssh-"));
  const children: ChildProcess[] = [];
  try {
    const keyFile = join(dir, "id_test");
    await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "polyarch-test-key", "-f", keyFile]);
    const fingerprint = (await runOk("ssh-keygen", ["-l", "-f", `${keyFile}.pub`])).stdout.trim();
    const keyBody = (await readFile(keyFile, "utf8"))
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("-----"));
    await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
    await copyFile(`${keyFile}.pub`, join(dir, "authorized_keys"));
    const port = await freePort();
    const banner = "hello-from-test-sshd";
    await writeFile(
      join(dir, "sshd_config"),
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${join(dir, "host_key")}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        `ForceCommand echo ${banner}`,
        "",
      ].join("\n"),
    );
    // sshd insists on its privilege separation directory.
    await mkdir("/run/sshd", { recursive: true, mode: 0o755 });
    const sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")], {
      stdio: ["ignore", "ignore", "ignore"],
    });
    children.push(sshd);
    await waitFor(join(dir, "sshd.pid"), sshd, "sshd");

    const clientRoot = join(dir, "client-root");
    for (const bin of ["/usr/bin/ssh", "/usr/bin/ssh-add"]) {
      for (const file of [bin, ...(await libraries(bin))]) {
        const to = join(clientRoot, file);
        await mkdir(dirname(to), { recursive: true });
        await copyFile(file, to);
        await chmod(to, 0o755);
      }
    }

    let agents = 0;
    return {
      dir,
      keyFile,
      fingerprint,
      keyBody,
      port,
      banner,
      clientRoot,
      async agent() {
        const socket = join(dir, `agent-${++agents}.sock`);
        const agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: ["ignore", "ignore", "ignore"] });
        children.push(agent);
        await waitFor(socket, agent, "ssh-agent");
        await runOk("ssh-add", ["-q", keyFile], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
        return socket;
      },
      async [Symbol.asyncDispose]() {
        for (const c of children) c.kill("SIGKILL");
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    for (const c of children) c.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** The ssh command a step runs to reach the fixture's sshd through the forwarded agent. */
export function sshCommand(port: number): string {
  return `ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p ${port} root@127.0.0.1`;
}
