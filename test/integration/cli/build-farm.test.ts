// Issue 11's acceptance: a build farm of two real ssh nodes simulated on this machine (Debian sshd on
// 127.0.0.2 and 127.0.0.3, each with its own state directory and polyarch from this checkout). Where each
// platform's steps ran is read from the nodes' own logs (<state>/node-serve.log), the pushed index is
// checked with skopeo, its arm64 image run with runc.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { run, runOk } from "../../harness/exec.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { runImage } from "../../harness/run-image.ts";
import { sshCommand, startSshFixture } from "../../harness/ssh.ts";
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
  contextsLaidOut: number;
  credentialsAskedFor: string[];
  pushed?: { targets: string[]; exists: number; mounted: number; uploaded: number };
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
  assert.equal(armLog[0]!.contextsLaidOut, 1);
  // The layers went from each node straight to the registry: the client fetched none of them.
  assert.deepEqual(amdLog[0]!.pushed?.targets, [`${reg.host}/farm/app`]);
  assert.ok(armLog[0]!.pushed!.uploaded >= 1);
  assert.match(r.stderr, /\[node arm\] pushing \d+ layers to /);

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
  // The index is complete (every manifest and blob is there to copy), and no layer of it is in the
  // client's store: only the configs and manifests the client wrote.
  const copied = join(work, "pushed-copy");
  await runOk("skopeo", ["copy", "--all", ...reg.skopeoFlags("src"), `docker://${tag}`, `oci:${copied}`]);
  const clientBlobs = join(env.POLYARCH_ROOT!, "content", "blobs", "sha256");
  let layers = 0;
  for (const m of index.manifests as { digest: string }[]) {
    const manifest = JSON.parse(await readFile(join(copied, "blobs", ...m.digest.split(":")), "utf8"));
    for (const l of manifest.layers as { digest: string; mediaType: string }[]) {
      if (!l.mediaType.includes("tar")) continue;
      layers++;
      const here = await readFile(join(clientBlobs, l.digest.slice(7))).then(
        () => true,
        () => false,
      );
      assert.equal(here, false, `the client fetched layer ${l.digest}`);
    }
  }
  assert.ok(layers >= 4);
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
    // Keyed by the client's digests: the cached build neither wrote out nor read the context there.
    assert.equal(last.contextsLaidOut, 0);
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

test("-o type=docker of a platform built on a node: the image id of the same build on one machine", async () => {
  const one = (builderArgs: string[], out: string, iid: string, extraEnv: Record<string, string> = {}) =>
    polyarch(
      [
        "build",
        "--progress",
        "plain",
        "--platform",
        "linux/arm64",
        ...builderArgs,
        "-o",
        `type=docker,dest=${out},rewrite-timestamp=true`,
        "--iidfile",
        iid,
        context,
      ],
      { env: { ...env, ...extraEnv } },
    );
  let r = await one([], join(work, "farm-docker.tar"), join(work, "farm-docker.iid"));
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  assert.match(r.stderr, /\[node arm\]/);
  r = await one(["--builder", "default"], join(work, "one-docker.tar"), join(work, "one-docker.iid"), {
    POLYARCH_ROOT: join(work, "one-machine-docker-state"),
  });
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  const id = (await readFile(join(work, "farm-docker.iid"), "utf8")).trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(id, (await readFile(join(work, "one-docker.iid"), "utf8")).trim());
  const listed = await runOk("tar", ["-tf", join(work, "farm-docker.tar")]);
  assert.match(listed.stdout, /^manifest\.json$/m);
  assert.match(listed.stdout, new RegExp(`^blobs/sha256/${id.slice(7)}$`, "m"));
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

test("a node pulls from and pushes to a registry that needs credentials by asking the client, and keeps none", async () => {
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
    // A push to it: the nodes push their layers with the credentials they ask for, and keep none.
    const pushed = await polyarch(
      [
        "build",
        "--progress",
        "plain",
        "--platform",
        "linux/amd64,linux/arm64",
        "-t",
        `${authReg.host}/farm/private:1`,
        "--push",
        ctx,
      ],
      { env: { ...env, ...authReg.env(), ...cfg.env } },
    );
    assert.equal(pushed.code, 0, pushed.stderr.slice(-3000));
    assert.ok(authReg.tokenServer!.scopesRequested().some((s) => /farm\/private:.*push/.test(s)));
    for (const node of [amd, arm]) {
      const grep = await run("grep", ["-rl", password, node.stateRoot]);
      assert.equal(grep.stdout, "", `${node.name} keeps the password in ${grep.stdout}`);
      assert.deepEqual((await nodeLog(node)).at(-1)!.pushed?.targets, [`${authReg.host}/farm/private`]);
    }
    await runOk("skopeo", [
      "copy",
      "--all",
      ...authReg.skopeoFlags("src"),
      `docker://${authReg.host}/farm/private:1`,
      `oci:${join(work, "private-copy")}`,
    ]);
  } finally {
    await authReg.stop();
  }
});

test("--ssh on a farm: the node's RUN --mount=type=ssh signs with the client's agent, relayed over the channel", async () => {
  // A real agent here holding the key, and an sshd the step logs in to with it (from the node's container).
  await using target = await startSshFixture();
  const agent = await target.agent();
  const ctx = join(work, "ssh-context");
  await mkdir(ctx, { recursive: true });
  await cp(target.clientRoot, join(ctx, "client"), { recursive: true });
  await writeFile(
    join(ctx, "Dockerfile"),
    [
      `FROM ${reg.host}/library/busybox:latest`,
      "COPY client/ /",
      `RUN --mount=type=ssh,required=true ssh-add -l > /keys && ${sshCommand(target.port)} > /reached`,
      "",
    ].join("\n"),
  );
  const dest = join(work, "ssh-out");
  // The client's binaries are this machine's (amd64): the step runs on node amd, an ssh node.
  const r = await polyarch(
    [
      "build",
      "--progress",
      "plain",
      "--platform",
      "linux/amd64",
      "--ssh",
      "default",
      "-o",
      `type=local,dest=${dest}`,
      ctx,
    ],
    { env: { ...env, SSH_AUTH_SOCK: agent } },
  );
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  assert.match(r.stderr, /\[node amd\] \[3\/3\] RUN --mount=type=ssh/);
  assert.equal(await readFile(join(dest, "keys"), "utf8"), `${target.fingerprint}\n`);
  assert.equal(await readFile(join(dest, "reached"), "utf8"), `${target.banner}\n`);
  assert.ok((await nodeLog(amd)).at(-1)!.ran.length >= 1);
  // Nothing of the key is on the node (its private key's base64 body), and the relay socket is gone.
  const keyBody = (await readFile(target.keyFile, "utf8")).split("\n")[1]!;
  const grep = await run("grep", ["-rlF", keyBody, amd.stateRoot]);
  assert.equal(grep.stdout, "", `the node keeps the key in ${grep.stdout}`);
  const relays = (await readdir("/dev/shm")).filter((n) => n.startsWith("polyarch-node-agent-"));
  assert.deepEqual(relays, []);
});

test("--cache-to type=registry on a farm exports the nodes' records; --cache-from hits them on a fresh machine and on fresh nodes", async () => {
  const cacheRef = `${reg.host}/farm/cache:1`;
  const farmOut = join(work, "cache-farm.tar");
  let r = await build([
    "--cache-to",
    `type=registry,ref=${cacheRef}`,
    "-o",
    `type=oci,dest=${farmOut}`,
    "--iidfile",
    join(work, "cache-farm.iid"),
  ]);
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  // One cache manifest per platform, from the nodes' records.
  const index = JSON.parse(
    (await runOk("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${cacheRef}`])).stdout,
  );
  assert.deepEqual(
    (index.manifests as { platform?: { architecture: string } }[])
      .map((m) => m.platform?.architecture)
      .filter(Boolean)
      .sort(),
    ["amd64", "arm64"],
  );
  // This machine with nothing cached: every step of both platforms comes from the cache (no RUN runs).
  r = await build(
    [
      "--builder",
      "default",
      "--cache-from",
      `type=registry,ref=${cacheRef}`,
      "-o",
      `type=oci,dest=${join(work, "cache-one.tar")}`,
      "--iidfile",
      join(work, "cache-one.iid"),
    ],
    { POLYARCH_ROOT: join(work, "cache-fresh-state") },
  );
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  assert.match(r.stderr, /\[linux\/arm64 3\/3\] RUN uname -m[^\n]*\n#\d+ CACHED/);
  assert.match(r.stderr, /\[linux\/amd64 3\/3\] RUN uname -m[^\n]*\n#\d+ CACHED/);
  assert.equal(
    (await readFile(join(work, "cache-one.iid"), "utf8")).trim(),
    (await readFile(join(work, "cache-farm.iid"), "utf8")).trim(),
  );

  // Nodes with nothing cached, given the registry cache: each node reads it itself and runs no step.
  for (const node of [amd, arm]) {
    await rm(node.stateRoot, { recursive: true, force: true });
    await mkdir(node.stateRoot, { recursive: true, mode: 0o700 });
  }
  r = await build([
    "--cache-from",
    `type=registry,ref=${cacheRef}`,
    "--cache-from",
    `type=local,src=${join(work, "no-such-cache")},ignore-error=true`,
    "-o",
    `type=oci,dest=${join(work, "cache-nodes.tar")}`,
  ]);
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  assert.match(r.stderr, /\[node arm\] \[linux\/arm64 3\/3\] RUN uname -m[^\n]*\n#\d+ CACHED/);
  assert.match(r.stderr, /node arm builds without --cache-from type=local/);
  for (const node of [amd, arm]) {
    const last = (await nodeLog(node)).at(-1)!;
    assert.deepEqual(last.ran, [], `${node.name} ran steps`);
  }
});

test("--test on a farm runs in each node's result there; a failing platform fails the build naming its node, nothing pushed", async () => {
  let r = await build([
    "--test",
    "cat /built-on && test -s /src/hello.txt",
    "-o",
    `type=oci,dest=${join(work, "tested.tar")}`,
  ]);
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  assert.match(r.stderr, /\[node arm\] \[linux\/arm64\] test: \/bin\/sh -c/);
  assert.match(r.stderr, /\[node amd\] \[linux\/amd64\] test: \/bin\/sh -c/);
  assert.match(r.stderr, /aarch64/);
  const tag = `${reg.host}/farm/tested:1`;
  r = await build(["--test", 'test "$(uname -m)" = x86_64', "-t", tag, "--push"]);
  assert.equal(r.code, 1, r.stderr.slice(-4000));
  assert.match(
    r.stderr,
    /error: node arm: --test .* failed on linux\/arm64 \(exit code 1\): nothing was pushed or exported/,
  );
  const inspect = await run("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${tag}`]);
  assert.notEqual(inspect.code, 0, "a tag was pushed");
});

test("--sbom on a farm is refused before any node builds, naming the flag, the platform and the node", async () => {
  const before = await nodeLog(arm);
  const r = await build(["--sbom=true", "-o", `type=oci,dest=${join(work, "sbom.tar")}`]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /error: --sbom is not available for linux\/(amd64|arm64), built on node (amd|arm) \(ssh driver\)/,
  );
  assert.match(r.stderr, /hint: build without --sbom/);
  assert.equal((await nodeLog(arm)).length, before.length);
});
