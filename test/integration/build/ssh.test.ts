// RUN --mount=type=ssh with `--ssh`: the step reaches a real sshd on loopback through the forwarded agent
// (the user's $SSH_AUTH_SOCK, or key files polyarch serves with an ssh-agent of its own).
import assert from "node:assert/strict";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { type SshFixture, sshCommand, startSshFixture } from "../../harness/ssh.ts";
import { polyarch } from "../../support/cli.ts";

let reg: TestRegistry;
let ssh: SshFixture;
let work: string;
let base: string;
let seq = 0;

before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
  ssh = await startSshFixture();
  work = await mkdtemp(join(tmpdir(), "polyarch-ssh-build-"));
});
after(async () => {
  await ssh?.[Symbol.asyncDispose]();
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function build(dockerfile: string, args: string[], env: Record<string, string> = {}) {
  const ctx = join(work, `ctx-${++seq}`);
  await mkdir(ctx, { recursive: true });
  await cp(ssh.clientRoot, join(ctx, "client"), { recursive: true });
  await writeFile(join(ctx, "Dockerfile"), `FROM ${base}\nCOPY client/ /\n${dockerfile}`);
  const out = join(work, `out-${seq}`);
  const r = await polyarch(["build", "--progress", "plain", ...args, "-o", `type=local,dest=${out}`, ctx], {
    env: { POLYARCH_ROOT: join(work, "state"), SSH_AUTH_SOCK: "", ...env },
  });
  return { ...r, out };
}

const reach = () =>
  `RUN --mount=type=ssh ssh-add -l > /keys && ${sshCommand(ssh.port)} > /reached && echo "$SSH_AUTH_SOCK" > /sock\n`;

test("--ssh default forwards $SSH_AUTH_SOCK: the step lists the key and logs in to sshd with it", async () => {
  const agent = await ssh.agent();
  const r = await build(reach(), ["--ssh", "default"], { SSH_AUTH_SOCK: agent });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await readFile(join(r.out, "reached"), "utf8"), `${ssh.banner}\n`);
  assert.equal(await readFile(join(r.out, "keys"), "utf8"), `${ssh.fingerprint}\n`);
  assert.equal(await readFile(join(r.out, "sock"), "utf8"), "/run/buildkit/ssh_agent.0\n");
  // The socket's mount point is not part of the image.
  assert.deepEqual(await readdir(join(r.out, "run")).catch(() => []), []);
});

test("--ssh ID=KEY_FILE: polyarch serves the key through its own agent, at the mount's target and mode", async () => {
  const r = await build(
    `RUN --mount=type=ssh,id=deploy,target=/tmp/agent.sock,mode=0660,uid=0,gid=1000,required=true ` +
      `ls -ln /tmp/agent.sock | cut -c1-10,17-40 | tr -s ' ' > /mode && SSH_AUTH_SOCK=/tmp/agent.sock ${sshCommand(ssh.port)} > /reached\n`,
    ["--ssh", `deploy=${ssh.keyFile}`],
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await readFile(join(r.out, "reached"), "utf8"), `${ssh.banner}\n`);
  assert.match(await readFile(join(r.out, "mode"), "utf8"), /^srw-rw---- ?\d* ?0 1000/);
  // The agent polyarch started is gone with the build, and so is its directory.
  const left = (await readdir("/dev/shm")).filter((n) => n.startsWith("polyarch-ssh"));
  assert.deepEqual(left, []);
});

test("an ssh mount that is required without --ssh fails before any step, with BuildKit's words and a hint", async () => {
  const r = await build("RUN echo ran > /ran\nRUN --mount=type=ssh,required=true true\n", []);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /no SSH key "default" forwarded from the client/);
  assert.match(r.stderr, /--ssh default/);
  assert.doesNotMatch(r.stderr, /looks like a bug|at .*\.ts:\d+/);
});

test("an optional ssh mount without --ssh: the step runs without an agent", async () => {
  const r = await build("RUN --mount=type=ssh sh -c 'ssh-add -l; echo \"$?\"' > /status 2>&1; true\n", []);
  assert.equal(r.code, 0, r.stderr);
  assert.match(await readFile(join(r.out, "status"), "utf8"), /Could not open a connection|Error connecting/);
});

test("--ssh default without SSH_AUTH_SOCK, and a missing key file, are clear errors", async () => {
  const a = await build(reach(), ["--ssh", "default"]);
  assert.notEqual(a.code, 0);
  assert.match(a.stderr, /invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set/);
  const b = await build(reach(), ["--ssh", `default=${join(work, "nope")}`]);
  assert.notEqual(b.code, 0);
  assert.match(b.stderr, /invalid --ssh .*nope does not exist/);
});
