// Issue 12's acceptance, through the CLI: a real buildkitd (v0.24.0 from ../shared/buildkit) as a node of
// polyarch builders (`create --driver remote`), on its unix socket and on loopback TCP with mutual TLS.
// That BuildKit built a platform is read from the daemon itself (`buildctl du`: its cache records name the
// steps it ran); pushed images are checked with skopeo and run with runc (under QEMU for arm64).
import assert from "node:assert/strict";
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startBuildKit } from "../../harness/buildkit.ts";
import { run, runOk } from "../../harness/exec.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { runImage } from "../../harness/run-image.ts";
import { generateClientCert, generatePki, type TestPki } from "../../harness/tls.ts";
import { polyarch } from "../../support/cli.ts";
import { unpackOciTar } from "../buildkit-client/support.ts";

const repo = new URL("../../../", import.meta.url).pathname;
let reg: TestRegistry;
let bk: Awaited<ReturnType<typeof startBuildKit>>;
let pki: TestPki;
let otherCa: TestPki;
let work: string;
let context: string;
let env: Record<string, string>;

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const cli = (args: string[], cwd?: string) => polyarch(args, { env, ...(cwd ? { cwd } : {}) });
const buildctl = (...args: string[]) =>
  runOk(join(bk.state, "bin", "buildctl"), ["--addr", bk.address, ...args], { timeoutMs: 120_000 });

before(async () => {
  reg = await startRegistry();
  await pushBusyboxImage(reg);
  work = await mkdtemp(join(tmpdir(), "polyarch-remote-test-"));
  pki = await generatePki(join(work, "pki"));
  otherCa = await generatePki(join(work, "other-ca"));
  const client = await generateClientCert(pki);
  bk = await startBuildKit([reg.host], {
    tcp: `127.0.0.1:${await freePort()}`,
    tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.caCert },
  });
  context = join(work, "context");
  await mkdir(join(context, "src"), { recursive: true });
  await writeFile(
    join(context, "Dockerfile"),
    [
      `FROM ${reg.host}/library/busybox:latest`,
      "COPY src/ /src/",
      "RUN uname -m > /built-on",
      'CMD ["cat", "/built-on"]',
      "",
    ].join("\n"),
  );
  await writeFile(join(context, "src", "hello.txt"), "hello from the client\n");
  env = {
    XDG_CONFIG_HOME: join(work, "config"),
    POLYARCH_ROOT: join(work, "state"),
    DOCKER_CONFIG: join(work, "docker"),
  };
  // The certificates are given relative to the working directory: create stores them absolute.
  await cp(client.cert, join(work, "client.pem"));
  await cp(client.key, join(work, "client-key.pem"));
  await cp(pki.caCert, join(work, "ca.pem"));
  let r = await cli(["create", "--name", "mixed", "--node", "here", "--platform", "linux/amd64"]);
  assert.equal(r.code, 0, r.stderr);
  r = await cli([
    "create",
    "--name",
    "mixed",
    "--append",
    "--node",
    "bk",
    "--driver",
    "remote",
    "--platform",
    "linux/arm64",
    bk.address,
  ]);
  assert.equal(r.code, 0, r.stderr);
  r = await cli(
    [
      "create",
      "--name",
      "fleet",
      "--node",
      "bk-tls",
      "--driver",
      "remote",
      "--driver-opt",
      "cacert=ca.pem,cert=client.pem,key=client-key.pem",
      bk.tcpAddress!,
    ],
    work,
  );
  assert.equal(r.code, 0, r.stderr);
  r = await cli([
    "create",
    "--name",
    "wrongca",
    "--node",
    "bk-bad",
    "--driver-opt",
    `cacert=${otherCa.caCert},cert=${client.cert},key=${client.key}`,
    bk.tcpAddress!,
  ]);
  assert.equal(r.code, 0, r.stderr);
  r = await cli(["create", "--name", "gone", "--node", "bk-gone", `tcp://127.0.0.1:${await freePort()}`]);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  await bk?.stop();
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

test("create stores the node's TLS options as absolute paths in a 0600 file; ls and inspect ask BuildKit", async () => {
  const file = join(work, "config", "polyarch", "builders", "fleet.json");
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const record = JSON.parse(await readFile(file, "utf8"));
  assert.deepEqual(record.nodes[0].driverOpts, {
    cacert: join(work, "ca.pem"),
    cert: join(work, "client.pem"),
    key: join(work, "client-key.pem"),
  });
  assert.equal(record.nodes[0].driver, "remote");

  const ls = await cli(["ls"]);
  assert.equal(ls.code, 0, ls.stderr);
  const line = ls.stdout.split("\n").find((l) => l.includes("\\_ bk-tls"))!;
  assert.match(line, /running\s+BuildKit v0\.24\.0\s+linux\/amd64, .*linux\/arm64/);
  const inspect = await cli(["inspect", "--bootstrap", "mixed"]);
  assert.equal(inspect.code, 0, inspect.stderr + inspect.stdout);
  assert.match(inspect.stdout, /Name:\s+bk\nEndpoint:\s+unix:\/\/.*\nDriver:\s+remote\nStatus:\s+running\n/);
  assert.match(inspect.stdout, /Engine:\s+BuildKit v0\.24\.0\nPlatforms:\s+linux\/arm64\*/);
});

test("a 2-platform push: amd64 on the local node, arm64 built by BuildKit, one index that runs", async () => {
  const tag = `${reg.host}/remote/app:1`;
  const r = await cli([
    "build",
    "--builder",
    "mixed",
    "--progress",
    "plain",
    "--platform",
    "linux/amd64,linux/arm64",
    "-t",
    tag,
    "--push",
    context,
  ]);
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  assert.match(r.stderr, /\[internal\] linux\/arm64 on node bk/);
  // The daemon builds one platform here, so its step names carry no platform.
  assert.match(r.stderr, /\[node bk\] \[3\/3\] RUN uname -m > \/built-on/);

  // The build's summary counts the daemon's steps for its platform.
  assert.match(r.stderr, /\nlinux\/arm64\s+3 steps/);
  // The daemon's own disk usage: the snapshot of the RUN step it ran, over the base it pulled.
  const du = (await buildctl("du", "-v")).stdout;
  assert.match(du, /Description:\tmount \/ from exec \/bin\/sh -c uname -m > \/built-on\n/);
  assert.match(du, /Description:\tpulled from .*\/library\/busybox:latest@sha256:/);

  const index = JSON.parse(
    (await runOk("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${tag}`])).stdout,
  );
  const archs = (index.manifests as { platform: { architecture: string } }[])
    .map((m) => m.platform.architecture)
    .filter((a) => a !== "unknown");
  assert.deepEqual(archs, ["amd64", "arm64"]);
  for (const [architecture, expected] of [
    ["arm64", "aarch64"],
    ["amd64", "x86_64"],
  ] as const) {
    const out = await runImage({
      source: `docker://${tag}`,
      architecture,
      workDir: await mkdtemp(join(work, "run-")),
      skopeoFlags: reg.skopeoFlags("src"),
    });
    assert.equal(out, expected);
  }
});

test("a BuildKit-only builder over mutual TLS builds the cross-compile example for 3 platforms into -o type=oci", async () => {
  const xc = join(work, "cross-compile");
  await cp(join(repo, "examples/cross-compile"), xc, { recursive: true });
  const out = join(work, "xc.tar");
  const r = await cli([
    "build",
    "--builder",
    "fleet",
    "--progress",
    "plain",
    "--platform",
    "linux/amd64,linux/arm64,linux/arm/v7",
    "--build-arg",
    `REGISTRY=${reg.host}`,
    "-o",
    `type=oci,dest=${out}`,
    xc,
  ]);
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  const blob = await unpackOciTar(out);
  const root = JSON.parse((await run("tar", ["-xOf", out, "index.json"])).stdout) as {
    manifests: { digest: string }[];
  };
  const top = JSON.parse((await blob(root.manifests[0]!.digest)).toString());
  const images = (top.manifests as { platform: { architecture: string; variant?: string } }[]).filter(
    (m) => m.platform.architecture !== "unknown",
  );
  assert.deepEqual(
    images.map((m) => `${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ""}`),
    ["amd64", "arm64", "arm/v7"],
  );
  for (const [architecture, variant, expected] of [
    ["arm64", undefined, "aarch64"],
    ["arm", "v7", "armv7l"],
  ] as const) {
    const hello = await runImage({
      source: `oci-archive:${out}`,
      architecture,
      variant,
      workDir: await mkdtemp(join(work, "run-")),
      args: ["cat", "/etc/built-on"],
    });
    assert.equal(hello, expected);
  }
});

test("a secret reaches the daemon's RUN step and no layer", async () => {
  const secret = "s3cr3t-value-for-the-daemon";
  const secretFile = join(work, "token.txt");
  await writeFile(secretFile, secret);
  const out = join(work, "secret.tar");
  const secretContext = join(work, "secret-context");
  await mkdir(secretContext);
  await writeFile(
    join(secretContext, "Dockerfile"),
    [
      `FROM ${reg.host}/library/busybox:latest`,
      "RUN --mount=type=secret,id=token,required=true sha256sum /run/secrets/token | cut -c1-64 > /token.sum",
      "",
    ].join("\n"),
  );
  const r = await cli([
    "build",
    "--builder",
    "fleet",
    "--platform",
    "linux/arm64",
    "--secret",
    `id=token,src=${secretFile}`,
    "-o",
    `type=oci,dest=${out}`,
    secretContext,
  ]);
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  const { createHash } = await import("node:crypto");
  const want = createHash("sha256").update(secret).digest("hex");
  const dir = await mkdtemp(join(work, "secret-"));
  await runOk("tar", ["-xf", out, "-C", dir]);
  // Every blob, unpacked where it is a layer: the sum is there, the secret is not.
  const all = (
    await runOk("sh", [
      "-c",
      `cd ${dir}/blobs/sha256 && for f in *; do gzip -dc "$f" 2>/dev/null || cat "$f"; done`,
    ])
  ).stdout;
  assert.ok(all.includes(want), "the RUN step did not see the secret");
  assert.ok(!all.includes(secret), "the secret is in the image");
});

test("a wrong CA, or a daemon that is not there, is one line naming the node", async () => {
  for (const [builder, node] of [
    ["wrongca", "bk-bad"],
    ["gone", "bk-gone"],
  ] as const) {
    const r = await cli([
      "build",
      "--builder",
      builder,
      "--platform",
      "linux/arm64",
      "-o",
      "type=oci,dest=/dev/null",
      context,
    ]);
    assert.notEqual(r.code, 0);
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, new RegExp(`node ${node}`));
    if (builder === "wrongca") assert.match(errors[0]!, /TLS|certificate/i);
  }
});

test("a failing RUN on the daemon is shown at its Dockerfile line, naming the node", async () => {
  const failing = join(work, "failing");
  await mkdir(failing);
  await writeFile(
    join(failing, "Dockerfile"),
    [`FROM ${reg.host}/library/busybox:latest`, "RUN echo about to fail && exit 3", ""].join("\n"),
  );
  const r = await cli([
    "build",
    "--builder",
    "fleet",
    "--platform",
    "linux/arm64",
    "-o",
    "type=oci,dest=/dev/null",
    failing,
  ]);
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /error: \S*Dockerfile:2:\d+: node bk-tls \(BuildKit at tcp:\/\/127\.0\.0\.1:\d+\): .*exit code: 3/,
  );
  assert.match(r.stderr, /\n\s*2 \| RUN echo about to fail && exit 3\n/);
});

test("create refuses driver options it cannot use, before storing anything", async () => {
  let r = await cli(["create", "--name", "bad1", "--driver-opt", "cacert=/etc/hostname"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /error: the local driver takes no --driver-opt/);
  r = await cli([
    "create",
    "--name",
    "bad2",
    "--driver-opt",
    `cacert=${join(work, "missing.pem")}`,
    bk.tcpAddress!,
  ]);
  assert.match(r.stderr, /error: --driver-opt cacert=.*missing\.pem: cannot read/);
  r = await cli(["create", "--name", "bad3", "--driver-opt", "tlscacert=x", bk.tcpAddress!]);
  assert.match(r.stderr, /error: the remote driver has no option "tlscacert"/);
  r = await cli(["create", "--name", "bad4", "--driver", "remote", "http://host:1234"]);
  assert.match(r.stderr, /not a BuildKit endpoint/);
  const ls = await cli(["ls"]);
  assert.doesNotMatch(ls.stdout, /bad\d/);
});

test("a context change sends the daemon only the changed file (its file-sync transfer says so)", async () => {
  const ctx = join(work, "sync-context");
  await mkdir(ctx);
  await writeFile(
    join(ctx, "Dockerfile"),
    [`FROM ${reg.host}/library/busybox:latest`, "COPY . /app/", ""].join("\n"),
  );
  await writeFile(join(ctx, "big.bin"), Buffer.alloc(2 << 20, 9));
  await writeFile(join(ctx, "small.txt"), "one\n");
  const transferred = async () => {
    const r = await cli([
      "build",
      "--builder",
      "fleet",
      "--progress",
      "plain",
      "--platform",
      "linux/arm64",
      "-o",
      "type=oci,dest=/dev/null",
      ctx,
    ]);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    // BuildKit reports the bytes its file sync received for the context.
    const m =
      /#(\d+) \[node bk-tls\] \[internal\] load build context\n[\s\S]*?#\1 transferring ([\d.]+)(B|kB|MB)/.exec(
        r.stderr,
      );
    assert.ok(m, r.stderr.slice(-3000));
    return Number(m[2]) * ({ B: 1, kB: 1e3, MB: 1e6 } as const)[m[3] as "B" | "kB" | "MB"];
  };
  assert.ok((await transferred()) > 2e6);
  await writeFile(join(ctx, "small.txt"), "two\n");
  const second = await transferred();
  assert.ok(second < 10e3, `sent ${second} bytes for a 4-byte change`);
});

test("--cache-to/--cache-from type=registry go to the daemon, which writes and reads its own cache there", async () => {
  const cacheRef = `${reg.host}/remote/cache:bk`;
  const build = (extra: string[]) =>
    cli([
      "build",
      "--builder",
      "fleet",
      "--platform",
      "linux/arm64",
      "-o",
      "type=oci,dest=/dev/null",
      ...extra,
      context,
    ]);
  let r = await build(["--cache-to", `type=registry,ref=${cacheRef},mode=max`]);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  // BuildKit's cache format, written by the daemon: an image index whose config names its cache config.
  const raw = JSON.parse(
    (await runOk("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${cacheRef}`])).stdout,
  );
  assert.ok(
    JSON.stringify(raw).includes("application/vnd.buildkit.cacheconfig.v0"),
    JSON.stringify(raw).slice(0, 2000),
  );
  // With the daemon's own cache emptied, its steps come from the registry cache.
  await buildctl("prune", "--all");
  r = await build(["--progress", "plain", "--cache-from", `type=registry,ref=${cacheRef}`]);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  assert.match(r.stderr, /\[node bk-tls\] importing cache manifest from .*remote\/cache:bk/);
  assert.match(r.stderr, /\[node bk-tls\] \[3\/3\] RUN uname -m > \/built-on\n#\d+ CACHED/);

  // The mixed builder cannot: its two nodes would both write the one ref.
  r = await cli([
    "build",
    "--builder",
    "mixed",
    "--platform",
    "linux/amd64,linux/arm64",
    "--cache-to",
    `type=registry,ref=${cacheRef}`,
    "-o",
    "type=oci,dest=/dev/null",
    context,
  ]);
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /error: --cache-to goes to node bk's daemon, but other platforms build on other nodes/,
  );
});

test("a Dockerfile on stdin reaches the daemon too", async () => {
  const out = join(work, "stdin.tar");
  const r = await polyarch(
    [
      "build",
      "--builder",
      "fleet",
      "--platform",
      "linux/arm64",
      "-f",
      "-",
      "-o",
      `type=oci,dest=${out}`,
      context,
    ],
    { env, input: `FROM ${reg.host}/library/busybox:latest\nRUN echo from-stdin > /which\n` },
  );
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const which = await runImage({
    source: `oci-archive:${out}`,
    architecture: "arm64",
    workDir: await mkdtemp(join(work, "run-")),
    args: ["cat", "/which"],
  });
  assert.equal(which, "from-stdin");
});
