import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { run } from "../../harness/exec.ts";
import { pushBusyboxImage, pushSinglePlatformImage } from "../../harness/images.ts";
import { startRegistry } from "../../harness/registry.ts";
import { generateSigningCert } from "../../harness/tls.ts";
import { startTokenServer } from "../../harness/token-server.ts";

interface RawIndex {
  mediaType: string;
  manifests: { mediaType: string; platform: { os: string; architecture: string; variant?: string } }[];
}

test("plain registry: the busybox fixture is one index of amd64, arm64 and arm/v7", async () => {
  await using reg = await startRegistry();
  assert.match(reg.host, /^127\.0\.0\.1:\d+$/);
  const pushed = await pushBusyboxImage(reg);
  assert.equal(pushed.ref, `${reg.host}/library/busybox:latest`);

  const raw = await run("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${pushed.ref}`]);
  assert.equal(raw.code, 0, raw.stderr);
  const index = JSON.parse(raw.stdout) as RawIndex;
  assert.equal(index.mediaType, "application/vnd.oci.image.index.v1+json");
  assert.deepEqual(
    index.manifests.map((m) => m.platform),
    [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64" },
      { os: "linux", architecture: "arm", variant: "v7" },
    ],
  );

  // skopeo picks each platform's image and its config agrees with the index.
  for (const [arch, variant] of [
    ["arm64", ""],
    ["arm", "v7"],
  ] as const) {
    const args = ["inspect", "--config", "--override-arch", arch];
    if (variant) args.push("--override-variant", variant);
    const r = await run("skopeo", [...args, ...reg.skopeoFlags(), `docker://${pushed.ref}`]);
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(r.stdout) as {
      architecture: string;
      variant?: string;
      config: { Cmd: string[] };
      rootfs: { diff_ids: string[] };
    };
    assert.equal(config.architecture, arch);
    assert.equal(config.variant, variant || undefined);
    assert.deepEqual(config.config.Cmd, ["sh"]);
    assert.equal(config.rootfs.diff_ids.length, 1);
  }
});

test("single-platform fixture: a plain manifest, in Docker format when asked, with the extra layer", async () => {
  await using reg = await startRegistry();
  const pushed = await pushSinglePlatformImage(
    reg,
    "app:arm64",
    { os: "linux", architecture: "arm64" },
    { extraFile: { path: "/app/marker", content: "arm64\n" }, format: "docker" },
  );
  const raw = await run("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${pushed.ref}`]);
  assert.equal(raw.code, 0, raw.stderr);
  const manifest = JSON.parse(raw.stdout) as { mediaType: string; layers: unknown[] };
  assert.equal(manifest.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
  assert.equal(manifest.layers.length, 2);
  const info = JSON.parse(
    (await run("skopeo", ["inspect", ...reg.skopeoFlags(), `docker://${pushed.ref}`])).stdout,
  ) as { Architecture: string; Digest: string };
  assert.equal(info.Architecture, "arm64");
  assert.equal(info.Digest, pushed.digest);
});

test("TLS + basic auth: skopeo needs the CA and the right password", async (t) => {
  await using reg = await startRegistry({ auth: "basic" });
  assert.ok(reg.url.startsWith("https://"));
  assert.ok(reg.credentials && reg.certsDir && reg.caCertPath);
  assert.equal(
    await readFile(join(reg.certsDir, reg.host, "ca.crt"), "utf8"),
    await readFile(reg.caCertPath, "utf8"),
  );
  assert.deepEqual(reg.env(), { POLYARCH_REGISTRY_CERTS_DIR: reg.certsDir });
  const pushed = await pushBusyboxImage(reg);

  const ok = await run("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${pushed.ref}`]);
  assert.equal(ok.code, 0, ok.stderr);

  const certDir = `--cert-dir=${join(reg.certsDir, reg.host)}`;
  const wrong = await run("skopeo", [
    "inspect",
    "--raw",
    certDir,
    `--creds=${reg.credentials.username}:not-the-password`,
    `docker://${pushed.ref}`,
  ]);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /unauthorized|authentication required/i);

  const anonymous = await run("skopeo", ["inspect", "--raw", certDir, `docker://${pushed.ref}`]);
  assert.notEqual(anonymous.code, 0);

  // Without the CA the server certificate is not trusted: TLS is really on.
  const untrusted = await run("skopeo", [
    "inspect",
    "--raw",
    `--creds=${reg.credentials.username}:${reg.credentials.password}`,
    `docker://${pushed.ref}`,
  ]);
  assert.notEqual(untrusted.code, 0);
  assert.match(untrusted.stderr, /certificate/i);

  // The DOCKER_CONFIG directories the harness writes are read the same way by skopeo (its --authfile).
  // skopeo ignores `credsStore`, so that one's helper is checked by calling it as Docker would.
  const home = await mkdtemp(join(tmpdir(), "polyarch-home-"));
  t.after(() => rm(home, { recursive: true, force: true }));
  const store = await reg.dockerConfig({ via: "credsStore" });
  const helper = join(store.dir, "bin", "docker-credential-polyarch-test");
  const got = await run(helper, ["get"], { input: `${reg.host}\n` });
  assert.deepEqual(JSON.parse(got.stdout), {
    ServerURL: reg.host,
    Username: reg.credentials.username,
    Secret: reg.credentials.password,
  });
  const missing = await run(helper, ["get"], { input: "other.example:5000\n" });
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /credentials not found/);
  for (const via of ["auths", "credHelpers"] as const) {
    const cfg = await reg.dockerConfig({ via });
    const r = await run(
      "skopeo",
      ["inspect", "--raw", certDir, "--authfile", join(cfg.dir, "config.json"), `docker://${pushed.ref}`],
      { env: { ...process.env, HOME: home, ...cfg.env } },
    );
    assert.equal(r.code, 0, `${via}: ${r.stderr}`);
  }
  const bad = await reg.dockerConfig({ password: "wrong" });
  const r = await run(
    "skopeo",
    ["inspect", "--raw", certDir, "--authfile", join(bad.dir, "config.json"), `docker://${pushed.ref}`],
    {
      env: { ...process.env, HOME: home },
    },
  );
  assert.notEqual(r.code, 0);
});

test("token auth: skopeo gets tokens for exactly the scopes it needs; a wrong password gets none", async () => {
  await using reg = await startRegistry({ auth: "token" });
  assert.ok(reg.tokenServer && reg.credentials);
  const ping = await fetch(`${reg.url}/v2/`);
  assert.equal(ping.status, 401);
  assert.match(
    ping.headers.get("www-authenticate") ?? "",
    new RegExp(`^Bearer realm="${reg.tokenServer.realm}"`),
  );

  const pushed = await pushBusyboxImage(reg);
  assert.ok(reg.tokenServer.scopesRequested().includes("repository:library/busybox:pull,push"));

  reg.tokenServer.reset();
  const ok = await run("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${pushed.ref}`]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(reg.tokenServer.scopesRequested(), ["repository:library/busybox:pull"]);
  assert.equal(reg.tokenServer.requests[0]?.account, reg.credentials.username);

  reg.tokenServer.reset();
  const wrong = await run("skopeo", [
    "inspect",
    "--raw",
    "--tls-verify=false",
    `--creds=${reg.credentials.username}:wrong`,
    `docker://${pushed.ref}`,
  ]);
  assert.notEqual(wrong.code, 0);
  assert.ok(reg.tokenServer.requests.some((q) => q.status === 401));

  // Anonymous: a token with no access, which the registry refuses.
  const anonymous = await run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${pushed.ref}`]);
  assert.notEqual(anonymous.code, 0);
});

test("token auth with libtrust `kid` instead of x5c, and over TLS", async () => {
  await using reg = await startRegistry({ auth: "token", tokenKeyHeader: "kid", tls: true });
  assert.ok(reg.tokenServer?.realm.startsWith("https://"));
  const pushed = await pushBusyboxImage(reg);
  const ok = await run("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${pushed.ref}`]);
  assert.equal(ok.code, 0, ok.stderr);
});

test("stop() ends the registry and removes its storage", async () => {
  const reg = await startRegistry();
  await reg.stop();
  await assert.rejects(fetch(`${reg.url}/v2/`));
  await assert.rejects(readFile(join(reg.storageDir, "..", "config.yml")));
  await reg.stop();
});

test("the registry checks token signatures: a token from an untrusted key is refused", async (t) => {
  await using reg = await startRegistry({ auth: "token" });
  const dir = await mkdtemp(join(tmpdir(), "polyarch-rogue-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const rogueKey = await generateSigningCert(dir);
  const rogue = await startTokenServer({
    service: "polyarch-test-registry",
    issuer: "polyarch-test-token-issuer",
    signingCert: rogueKey.cert,
    signingKey: rogueKey.key,
    users: { mallory: "x" },
  });
  t.after(() => rogue.stop());
  const auth = Buffer.from("mallory:x").toString("base64");
  const tokenRes = await fetch(`${rogue.realm}?service=polyarch-test-registry&scope=repository:a:pull`, {
    headers: { authorization: `Basic ${auth}` },
  });
  const { token } = (await tokenRes.json()) as { token: string };
  const refused = await fetch(`${reg.url}/v2/a/tags/list`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(refused.status, 401);

  // The same request with a token from the registry's own token server gets past auth (404: no such repo).
  assert.ok(reg.tokenServer && reg.credentials);
  const own = Buffer.from(`${reg.credentials.username}:${reg.credentials.password}`).toString("base64");
  const good = (await (
    await fetch(`${reg.tokenServer.realm}?service=polyarch-test-registry&scope=repository:a:pull`, {
      headers: { authorization: `Basic ${own}` },
    })
  ).json()) as { token: string };
  const accepted = await fetch(`${reg.url}/v2/a/tags/list`, {
    headers: { authorization: `Bearer ${good.token}` },
  });
  assert.equal(accepted.status, 404);
});

test("a registry does not outlive a test process that is killed", async (t) => {
  const script = [
    `import { startRegistry } from ${JSON.stringify(new URL("../../harness/registry.ts", import.meta.url).pathname)};`,
    "const reg = await startRegistry();",
    "console.log(JSON.stringify({ url: reg.url, storage: reg.storageDir }));",
    "setInterval(() => {}, 1000);",
  ].join("\n");
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => child.kill("SIGKILL"));
  const { url, storage } = await new Promise<{ url: string; storage: string }>((resolve) => {
    child.stdout.once("data", (d: Buffer) => resolve(JSON.parse(d.toString())));
  });
  // A killed process runs no exit hook: its temp dir is ours to remove.
  t.after(() => rm(dirname(storage), { recursive: true, force: true }));
  assert.equal((await fetch(`${url}/v2/`)).status, 200);
  child.kill("SIGKILL");
  await once(child, "exit");
  // PDEATHSIG is delivered as the parent dies; give the kernel a moment to reap, without a timed assertion.
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${url}/v2/`);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`the registry at ${url} is still answering after its test process was killed`);
});
