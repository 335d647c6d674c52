// Issue 11's acceptance: a build farm of two real ssh nodes simulated on this machine (Debian sshd on
// 127.0.0.2 and 127.0.0.3, each with its own state directory and polyarch from this checkout). Where each
// platform's steps ran is read from the nodes' own logs (<state>/node-serve.log), the pushed index is
// checked with skopeo, its arm64 image run with runc.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { run, runOk } from "../../harness/exec.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { runImage } from "../../harness/run-image.ts";
import { type SshNode, type SshNodes, startSshNodes } from "../../harness/ssh-nodes.ts";
import { polyarch } from "../../support/cli.ts";

const repo = new URL("../../../", import.meta.url).pathname;
let farm: SshNodes;
let reg: TestRegistry;
let work: string;
let context: string;
let env: Record<string, string>;
let amd: SshNode;
let arm: SshNode;

interface NodeLog {
  platforms: string[];
  ran: string[];
  cached: string[];
  contextFilesFetched: number;
  credentialsAskedFor: string[];
}

async function nodeLog(node: SshNode): Promise<NodeLog[]> {
  const text = await readFile(join(node.stateRoot, "node-serve.log"), "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as NodeLog);
}

before(async () => {
  [farm, reg] = await Promise.all([startSshNodes(["amd", "arm"]), startRegistry()]);
  [amd, arm] = farm.nodes as [SshNode, SshNode];
  await pushBusyboxImage(reg);
  work = await mkdtemp(join(tmpdir(), "polyarch-farm-test-"));
  context = join(work, "context");
  await mkdir(join(context, "src"), { recursive: true });
  await writeFile(
    join(context, "Dockerfile"),
    [
      `FROM ${reg.host}/library/busybox:latest`,
      "ARG SLEEP=0",
      "COPY src/ /src/",
      "RUN uname -m > /built-on && sleep $SLEEP",
      'CMD ["cat", "/built-on"]',
      "",
    ].join("\n"),
  );
  await writeFile(join(context, "src", "hello.txt"), "hello from the client\n");
  await writeFile(join(context, "src", "big.bin"), Buffer.alloc(2 * 1024 * 1024, 7));
  await writeFile(join(context, "unused.txt"), "not selected by any COPY\n");
  env = {
    XDG_CONFIG_HOME: join(work, "config"),
    POLYARCH_ROOT: join(work, "client-state"),
    DOCKER_CONFIG: join(work, "docker"),
    SOURCE_DATE_EPOCH: "1700000000",
    ...farm.env,
  };
  let r = await polyarch(
    ["create", "--name", "farm", "--node", "amd", "--platform", "linux/amd64", amd.endpoint],
    {
      env,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  r = await polyarch(
    [
      "create",
      "--name",
      "farm",
      "--node",
      "arm",
      "--append",
      "--platform",
      "linux/arm64",
      "--use",
      arm.endpoint,
    ],
    { env },
  );
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  await farm?.[Symbol.asyncDispose]();
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const build = (args: string[], extraEnv: Record<string, string> = {}) =>
  polyarch(["build", "--progress", "plain", "--platform", "linux/amd64,linux/arm64", ...args, context], {
    env: { ...env, ...extraEnv },
  });

test("a 2-platform push on a 2-node builder: each platform built on its node, one index pushed, arm64 runs", async () => {
  const tag = `${reg.host}/farm/app:1`;
  const r = await build(["-t", tag, "--push"]);
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  // One display, the node named in each of its steps; routing said so, emulation too.
  assert.match(r.stderr, /\[internal\] linux\/amd64 on node amd\n/);
  assert.match(r.stderr, /\[internal\] linux\/arm64 on node arm \(emulated there\)/);
  assert.match(r.stderr, /\[node arm\] \[linux\/arm64 3\/3\] RUN uname -m/);
  assert.match(r.stderr, /\[node amd\] \[linux\/amd64 3\/3\] RUN uname -m/);

  // The nodes' own logs: each ran its platform's steps and only those.
  const [amdLog, armLog] = [await nodeLog(amd), await nodeLog(arm)];
  assert.deepEqual(
    amdLog.map((l) => l.platforms),
    [["linux/amd64"]],
  );
  assert.deepEqual(
    armLog.map((l) => l.platforms),
    [["linux/arm64"]],
  );
  assert.ok(amdLog[0]!.ran.length >= 3 && armLog[0]!.ran.length >= 3);
  // Only the files the graph selects travelled (src/, not unused.txt or the Dockerfile).
  assert.equal(armLog[0]!.contextFilesFetched, 2);

  const index = JSON.parse(
    (await runOk("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${tag}`])).stdout,
  );
  // The images, and (main's default min provenance) one attestation manifest for each, assembled here.
  const manifests = index.manifests as {
    platform: { architecture: string };
    annotations?: Record<string, string>;
  }[];
  assert.deepEqual(
    manifests.filter((m) => m.platform.architecture !== "unknown").map((m) => m.platform.architecture),
    ["amd64", "arm64"],
  );
  const attestations = manifests.filter(
    (m) => m.annotations?.["vnd.docker.reference.type"] === "attestation-manifest",
  );
  assert.equal(attestations.length, manifests.length - 2);
  const armOut = await runImage({
    source: `docker://${tag}`,
    architecture: "arm64",
    workDir: await mkdtemp(join(work, "run-")),
    skopeoFlags: reg.skopeoFlags("src"),
  });
  assert.equal(armOut, "aarch64");
  const armNow = await runImage({
    source: `docker://${tag}`,
    architecture: "arm64",
    workDir: await mkdtemp(join(work, "run-")),
    skopeoFlags: reg.skopeoFlags("src"),
    args: ["uname", "-m"],
  });
  assert.equal(armNow, "aarch64");
  assert.equal(
    await runImage({
      source: `docker://${tag}`,
      architecture: "amd64",
      workDir: await mkdtemp(join(work, "run-")),
      skopeoFlags: reg.skopeoFlags("src"),
    }),
    "x86_64",
  );
});

test("the second build is all CACHED on the nodes, and sends no context file again", async () => {
  const r = await build(["-t", `${reg.host}/farm/app:2`, "--push"]);
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  assert.doesNotMatch(r.stderr, /RUN uname -m.*\n#\d+ DONE/);
  assert.match(
    r.stderr,
    /\[node arm\] \[linux\/arm64 3\/3\] RUN uname -m > \/built-on && sleep 0\n#\d+ CACHED/,
  );
  for (const node of [amd, arm]) {
    const last = (await nodeLog(node)).at(-1)!;
    assert.deepEqual(last.ran, [], `${node.name} ran steps again`);
    assert.ok(last.cached.length >= 3);
    assert.equal(last.contextFilesFetched, 0);
  }
});

test("-o type=oci on the farm gives the index digest of the same build on one machine", async () => {
  const farmOut = join(work, "farm.tar");
  const oneOut = join(work, "one.tar");
  const farmIid = join(work, "farm.iid");
  const oneIid = join(work, "one.iid");
  let r = await build(["-o", `type=oci,dest=${farmOut},rewrite-timestamp=true`, "--iidfile", farmIid]);
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  r = await build(
    ["--builder", "default", "-o", `type=oci,dest=${oneOut},rewrite-timestamp=true`, "--iidfile", oneIid],
    {
      POLYARCH_ROOT: join(work, "one-machine-state"),
    },
  );
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  assert.doesNotMatch(r.stderr, /\[node /);
  const farmDigest = (await readFile(farmIid, "utf8")).trim();
  assert.match(farmDigest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(farmDigest, (await readFile(oneIid, "utf8")).trim());
});

test("killing a node's sshd mid-build fails the build naming the node, and pushes no tag", async () => {
  const tag = `${reg.host}/farm/app:killed`;
  const child = spawn(
    process.execPath,
    [
      join(repo, "bin/polyarch.mjs"),
      "build",
      "--progress",
      "plain",
      "--platform",
      "linux/amd64,linux/arm64",
      "--build-arg",
      "SLEEP=30",
      "--no-cache",
      "-t",
      tag,
      "--push",
      context,
    ],
    { env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
      // The arm64 RUN has started on the node: now the machine goes away.
      if (/\[node arm\] \[linux\/arm64 3\/3\] RUN/.test(stderr)) resolve();
    });
    exited.then(() => reject(new Error(`the build ended before its RUN started:\n${stderr}`)));
  });
  await arm.stop();
  try {
    const code = await exited;
    assert.equal(code, 1, stderr.slice(-3000));
    const escaped = arm.endpoint.replace(/[.]/g, "\\.");
    assert.match(stderr, new RegExp(`error: node arm \\(${escaped}\\) disconnected`));
    const inspect = await run("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${tag}`]);
    assert.notEqual(inspect.code, 0, "a tag was pushed");
  } finally {
    await arm.start();
  }
  // The machine is back: ls shows it, and a build that needs it is down... is up again.
  const ls = await polyarch(["ls"], { env });
  assert.match(
    ls.stdout,
    new RegExp(` \\\\_ arm\\s+\\\\_ ${arm.endpoint.replace(/[.]/g, "\\.")}\\s+running`),
  );
});

test("a builder whose node is down: build says which node and why; --allow-fallback builds elsewhere", async () => {
  await arm.stop();
  try {
    let r = await build(["-o", `type=oci,dest=${join(work, "down.tar")}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /node arm of builder farm \(ssh:\/\/[^)]+\) is down: .*Connection refused/);
    assert.match(r.stderr, /--allow-fallback/);
    // With fallback, the other node builds arm64 too (it emulates it), and says so.
    r = await polyarch(
      ["create", "--name", "farm", "--node", "amd", "--platform", "linux/amd64,linux/arm64", amd.endpoint],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    r = await build(["--allow-fallback", "-o", `type=oci,dest=${join(work, "fallback.tar")}`]);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stderr, /node arm is down/);
    assert.match(r.stderr, /\[internal\] linux\/arm64 on node amd \(emulated there\)/);
    assert.deepEqual((await nodeLog(amd)).at(-1)!.platforms, ["linux/amd64", "linux/arm64"]);
  } finally {
    await arm.start();
    const back = await polyarch(
      ["create", "--name", "farm", "--node", "amd", "--platform", "linux/amd64", amd.endpoint],
      { env },
    );
    assert.equal(back.code, 0, back.stderr);
  }
});

test("secrets reach the node's step only, and -o type=local writes each node's result", async () => {
  const ctx = join(work, "secret-context");
  await mkdir(ctx, { recursive: true });
  await writeFile(
    join(ctx, "Dockerfile"),
    [
      `FROM ${reg.host}/library/busybox:latest`,
      // The step proves it read the value without the Dockerfile (or the log) holding it.
      "RUN --mount=type=secret,id=tok sed s/s3cret/SEEN/ /run/secrets/tok > /seen && uname -m > /ok",
      "",
    ].join("\n"),
  );
  const secretFile = join(work, "tok.txt");
  await writeFile(secretFile, "farm-s3cret-value");
  const dest = join(work, "local-out");
  const r = await polyarch(
    [
      "build",
      "--progress",
      "plain",
      "--platform",
      "linux/amd64,linux/arm64",
      "--secret",
      `id=tok,src=${secretFile}`,
      "-o",
      `type=local,dest=${dest}`,
      ctx,
    ],
    { env },
  );
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  assert.equal((await readFile(join(dest, "linux_arm64", "ok"), "utf8")).trim(), "aarch64");
  assert.equal((await readFile(join(dest, "linux_amd64", "ok"), "utf8")).trim(), "x86_64");
  assert.equal(await readFile(join(dest, "linux_arm64", "seen"), "utf8"), "farm-SEEN-value");
  assert.equal((await readFile(join(dest, "linux_arm64", "bin", "busybox"))).length > 0, true);
  // Nothing of the secret stays on the node: not in its state, its log, or a layer.
  for (const node of [amd, arm]) {
    // grep exits 1 when nothing matches: that is the pass.
    const grep = await run("grep", ["-rl", "farm-s3cret-value", node.stateRoot]);
    assert.equal(grep.stdout, "", `${node.name} keeps the secret in ${grep.stdout}`);
  }
  assert.doesNotMatch(r.stderr, /farm-s3cret-value/);
});

test("a node pulls from a registry that needs credentials by asking the client, and keeps none", async () => {
  const authReg = await startRegistry({ auth: "token" });
  // Fresh node state, so the nodes must pull the base layers themselves.
  for (const node of [amd, arm]) {
    await rm(node.stateRoot, { recursive: true, force: true });
    await mkdir(node.stateRoot, { recursive: true, mode: 0o700 });
  }
  try {
    await pushBusyboxImage(authReg);
    const cfg = await authReg.dockerConfig();
    const ctx = join(work, "auth-context");
    await mkdir(ctx, { recursive: true });
    await writeFile(
      join(ctx, "Dockerfile"),
      `FROM ${authReg.host}/library/busybox:latest\nRUN uname -m > /m\n`,
    );
    const r = await polyarch(
      [
        "build",
        "--progress",
        "plain",
        "--platform",
        "linux/amd64,linux/arm64",
        "-o",
        `type=oci,dest=${join(work, "auth.tar")}`,
        ctx,
      ],
      { env: { ...env, ...authReg.env(), ...cfg.env } },
    );
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    // The token server saw the nodes' pulls (the client only resolves metadata; the layers are the nodes').
    assert.ok(authReg.tokenServer!.scopesRequested().some((s) => s.includes("library/busybox:pull")));
    const password = authReg.credentials!.password;
    for (const node of [amd, arm]) {
      const grep = await run("grep", ["-rl", password, node.stateRoot]);
      assert.equal(grep.stdout, "", `${node.name} keeps the password in ${grep.stdout}`);
      const last = (await nodeLog(node)).at(-1)!;
      assert.ok(last.ran.length >= 1);
      assert.deepEqual(last.credentialsAskedFor, [authReg.host]);
    }
  } finally {
    await authReg.stop();
  }
});
