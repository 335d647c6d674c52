// A forwarded ssh agent: the key never lands in a layer, the cache or the log, and a link planted at the
// socket's mount point in the image cannot redirect the mount onto the host.
import assert from "node:assert/strict";
import { cp, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { gunzipSync } from "node:zlib";
import { pushBusyboxImage } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { type SshFixture, sshCommand, startSshFixture } from "../harness/ssh.ts";
import { polyarch } from "../support/cli.ts";
import { attack } from "./support/attack.ts";

let reg: TestRegistry;
let ssh: SshFixture;
let work: string;
let base: string;
let seq = 0;

before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
  ssh = await startSshFixture();
  work = await mkdtemp(join(tmpdir(), "polyarch-attack-ssh-"));
});
after(async () => {
  await ssh?.[Symbol.asyncDispose]();
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function build(dockerfile: string, output: string) {
  const ctx = join(work, `ctx-${++seq}`);
  await mkdir(ctx, { recursive: true });
  await cp(ssh.clientRoot, join(ctx, "client"), { recursive: true });
  await writeFile(join(ctx, "Dockerfile"), `FROM ${base}\nCOPY client/ /\n${dockerfile}`);
  const state = join(work, `state-${seq}`);
  const r = await polyarch(
    ["build", "--progress", "plain", "--ssh", `default=${ssh.keyFile}`, "-o", output, ctx],
    { env: { POLYARCH_ROOT: state, SSH_AUTH_SOCK: "" } },
  );
  return { ...r, state };
}

/** Files under `dir` (gzip ones also decompressed) whose bytes hold any of the needles. */
async function filesHolding(dir: string, needles: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile()) {
        const bytes = await readFile(p);
        let text = bytes.toString("latin1");
        if (bytes[0] === 0x1f && bytes[1] === 0x8b) text += gunzipSync(bytes).toString("latin1");
        if (needles.some((n) => text.includes(n))) found.push(p);
      }
    }
  };
  await walk(dir);
  return found;
}

attack(
  "a step that dumps everything the agent gives it leaves no key bytes in layers, cache or log",
  async () => {
    const out = join(work, "image.tar");
    const r = await build(
      // The step tries hard: lists public keys, copies the socket's neighbourhood, prints its environment.
      `RUN --mount=type=ssh ssh-add -L > /pub && ${sshCommand(ssh.port)} > /reached && ls -la /run/buildkit > /ls && env && cat /run/buildkit/* 2>&1 | head -c 100; true\n`,
      `type=oci,dest=${out}`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /hello-from-test-sshd|DONE/);
    const needles = ssh.keyBody.filter((l) => l.length >= 20);
    assert.ok(needles.length > 0);
    assert.deepEqual(await filesHolding(r.state, needles), [], "the state root holds private key bytes");
    const unpacked = join(work, "image");
    await mkdir(unpacked, { recursive: true });
    const { runOk } = await import("../harness/exec.ts");
    await runOk("tar", ["-xf", out, "-C", unpacked]);
    assert.deepEqual(await filesHolding(unpacked, needles), [], "the image holds private key bytes");
    for (const n of needles) assert.ok(!(r.stderr + r.stdout).includes(n), "the log shows private key bytes");
    // Nothing of the agent or its relay (both in /dev/shm) stays behind on the host.
    assert.deepEqual(
      (await readdir("/dev/shm")).filter((n) => n.startsWith("polyarch-ssh-")),
      [],
    );
  },
);

attack(
  "a link planted at the agent socket's mount point does not carry the mount onto the host",
  async (canaries) => {
    const out = join(work, "linked");
    const r = await build(
      [
        `RUN mkdir -p /run/buildkit && ln -s ${canaries.etcFile} /run/buildkit/ssh_agent.0 && ln -s ${canaries.tmpDir} /run/agent-dir`,
        `RUN --mount=type=ssh ssh-add -l > /keys`,
        `RUN --mount=type=ssh,target=/run/agent-dir/sock ssh-add -l > /keys2`,
        "",
      ].join("\n"),
      `type=local,dest=${out}`,
    );
    assert.equal(r.code, 0, r.stderr);
    // The step reached the agent through the link, inside its own root.
    assert.equal(await readFile(join(out, "keys"), "utf8"), `${ssh.fingerprint}\n`);
    assert.equal(await readFile(join(out, "keys2"), "utf8"), `${ssh.fingerprint}\n`);
    // The image keeps the links as they were, and no stub the mount needed.
    assert.equal(await readlink(join(out, "run/buildkit/ssh_agent.0")), canaries.etcFile);
    assert.equal(await readlink(join(out, "run/agent-dir")), canaries.tmpDir);
  },
);
