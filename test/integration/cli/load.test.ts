// `--load` (issue 10, item 1) through the CLI, into real engines: Debian's dockerd 20.10 (its own data
// root and socket), and podman (its API service, then `podman load`) when no Docker answers.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startDockerd, startPodman, type TestDockerd, type TestPodman } from "../../harness/dockerd.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { polyarch, tempStateRoot } from "../../support/cli.ts";

let reg: TestRegistry;
let state: Awaited<ReturnType<typeof tempStateRoot>>;
let work: string;
let context: string;

before(async () => {
  reg = await startRegistry();
  await pushBusyboxImage(reg);
  state = await tempStateRoot();
  work = await mkdtemp(join(tmpdir(), "polyarch-load-"));
  context = join(work, "context");
  await mkdir(context);
  await writeFile(
    join(context, "Dockerfile"),
    `FROM ${reg.host}/library/busybox:latest\nCOPY hello /hello\nCMD ["cat", "/hello"]\n`,
  );
  await writeFile(join(context, "hello"), "hello from polyarch\n");
});
after(async () => {
  await reg?.stop();
  await state?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

/** No Docker anywhere but where the test says: the default socket does not exist on these machines. */
const noDocker = () => ({
  POLYARCH_ROOT: state.dir,
  DOCKER_CONFIG: join(work, "no-docker-config"),
  DOCKER_HOST: "",
});

async function build(args: string[], env: Record<string, string>) {
  return polyarch(["build", "--progress", "plain", ...args, context], { env: { ...noDocker(), ...env } });
}

describe("--load into dockerd", () => {
  let dockerd: TestDockerd;
  before(async () => {
    dockerd = await startDockerd();
  });
  after(() => dockerd?.stop());

  test("one platform lands in the daemon of DOCKER_HOST under its tag, and runs there", async () => {
    const r = await build(["--platform", "linux/amd64", "-t", "loaded/app:1", "--load"], dockerd.env);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stderr, /loading into Docker 20\.10[^\n]* \(DOCKER_HOST\)/);
    const inspect = await dockerd.docker([
      "image",
      "inspect",
      "loaded/app:1",
      "--format",
      "{{.Architecture}}",
    ]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal(inspect.stdout.trim(), "amd64");
    const history = await dockerd.docker([
      "image",
      "inspect",
      "loaded/app:1",
      "--format",
      "{{json .Config.Cmd}}",
    ]);
    assert.equal(history.stdout.trim(), '["cat","/hello"]');
  });

  test("-o type=docker without dest and the current docker context reach the same daemon", async () => {
    // A docker context as the docker CLI stores it: meta under the sha256 of its name.
    const config = join(work, "ctx-config");
    const meta = join(config, "contexts", "meta", createHash("sha256").update("ci").digest("hex"));
    await mkdir(meta, { recursive: true });
    await writeFile(join(config, "config.json"), JSON.stringify({ currentContext: "ci" }));
    await writeFile(
      join(meta, "meta.json"),
      JSON.stringify({ Name: "ci", Endpoints: { docker: { Host: dockerd.host } } }),
    );
    const r = await build(["--platform", "linux/arm64", "-o", "type=docker,name=ctx/app:arm"], {
      DOCKER_CONFIG: config,
    });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stderr, /loading into Docker [^\n]*\(docker context "ci"\)/);
    const inspect = await dockerd.docker([
      "image",
      "inspect",
      "ctx/app:arm",
      "--format",
      "{{.Architecture}}",
    ]);
    assert.equal(inspect.stdout.trim(), "arm64", inspect.stderr);
  });

  test("several platforms into a classic-store daemon: a clear error naming what works", async () => {
    const r = await build(
      ["--platform", "linux/amd64,linux/arm64", "-t", "multi/app:1", "--load"],
      dockerd.env,
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /keeps one platform per image name, and this build has 2 \(linux\/amd64, linux\/arm64\)/,
    );
    assert.match(r.stderr, /containerd image store|type=oci,dest=/);
    assert.doesNotMatch(r.stderr, /looks like a bug|at .*\.ts:\d+/);
    const inspect = await dockerd.docker(["image", "inspect", "multi/app:1"]);
    assert.notEqual(inspect.code, 0, "nothing was loaded");
  });

  test("DOCKER_HOST naming a dead socket is an error that names it", async () => {
    const r = await build(["-t", "x/y:1", "--load"], { DOCKER_HOST: `unix://${join(work, "nothing.sock")}` });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no Docker daemon answers at unix:\/\/.*nothing\.sock \(DOCKER_HOST\)/);
  });
});

describe("--load without Docker", () => {
  let podman: TestPodman;
  before(async () => {
    podman = await startPodman();
  });
  after(() => podman?.stop());

  test("podman's API socket takes the image; podman runs it for linux/arm64", async () => {
    await podman.startService();
    const r = await build(["--platform", "linux/arm64", "-t", "pod/app:arm", "--load"], {
      CONTAINER_HOST: podman.host,
    });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stderr, /loading into podman [^\n]*podman's API at CONTAINER_HOST/);
    const out = await podman.podman([
      "run",
      "--rm",
      "--network=none",
      "--platform",
      "linux/arm64",
      "pod/app:arm",
      "uname",
      "-m",
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), "aarch64");
    const cat = await podman.podman([
      "run",
      "--rm",
      "--network=none",
      "--platform",
      "linux/arm64",
      "pod/app:arm",
    ]);
    assert.equal(cat.stdout, "hello from polyarch\n", cat.stderr);
  });

  test("with no socket, `podman load` from PATH; -o type=docker does not fall back to podman", async () => {
    const r = await build(["--platform", "linux/amd64", "-t", "cli/app:1", "--load"], podman.storageEnv);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stderr, /loading into podman \(\S*podman load\)/);
    const images = await podman.podman(["image", "inspect", "cli/app:1", "--format", "{{.Architecture}}"]);
    assert.equal(images.stdout.trim(), "amd64", images.stderr);

    const docker = await build(["-o", "type=docker,name=cli/app:2"], podman.storageEnv);
    assert.equal(docker.code, 1);
    assert.match(docker.stderr, /-o type=docker without dest loads into a Docker daemon, and none answers/);
  });

  test("no daemon at all: the error names the alternatives", async () => {
    const r = await build(["-t", "none/app:1", "--load"], { PATH: "/usr/bin/no-such-dir" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--load found no Docker daemon .* and no podman/);
    assert.match(r.stderr, /type=docker,dest=image\.tar/);
    assert.match(r.stderr, /-t NAME/);
  });
});
