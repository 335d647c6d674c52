// `polyarch run` and `polyarch build --test` (issue 10, item 2) through the CLI, with runc and QEMU: a
// stored image's platform runs with its config mapped as docker run maps it, output and exit code passed
// through, and nothing left behind; --test keeps a failing platform's image from being pushed.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { leftoverPlaces } from "../../../src/worker/local/local-worker.ts";
import { stateLeftovers } from "../../fault/support/leftovers.ts";
import { run } from "../../harness/exec.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { polyarch, tempStateRoot } from "../../support/cli.ts";

let reg: TestRegistry;
let state: Awaited<ReturnType<typeof tempStateRoot>>;
let work: string;

before(async () => {
  reg = await startRegistry();
  await pushBusyboxImage(reg);
  state = await tempStateRoot();
  work = await mkdtemp(join(tmpdir(), "polyarch-run-"));
});
after(async () => {
  await reg?.stop();
  await state?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

const env = () => ({ POLYARCH_ROOT: state.dir, DOCKER_CONFIG: join(work, "docker-config") });
const cli = (args: string[]) => polyarch(args, { env: env() });

async function context(name: string, dockerfile: string) {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "Dockerfile"), dockerfile);
  return dir;
}

/**
 * What a container could leave on this state root: runc containers, mounts, bundles, and its throwaway
 * snapshot (cgroups and private dirs are machine-wide, shared with other engineers' concurrent builds).
 */
async function assertNothingLeft() {
  const { containers, mounts, bundles } = await stateLeftovers(state.dir);
  assert.deepEqual({ containers, mounts, bundles }, { containers: [], mounts: [], bundles: [] });
  const root = leftoverPlaces(state.dir).snapshots;
  const names: string[] = [];
  for (const dir of [root, join(root, "active"), join(root, "layers")])
    names.push(...(await readdir(dir).catch(() => [] as string[])));
  assert.ok(names.length > 0, "the snapshots are where this test looks");
  assert.deepEqual(
    names.filter((n) => n.startsWith("container-")),
    [],
  );
}

async function tagExists(ref: string): Promise<boolean> {
  const r = await run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${ref}`]);
  return r.code === 0;
}

test("polyarch run --platform linux/arm64 NAME uname -m prints aarch64; output and exit codes pass through", async () => {
  const plain = await context("plain", `FROM ${reg.host}/library/busybox:latest\nRUN echo built > /built\n`);
  const p = await cli([
    "build",
    "--progress",
    "plain",
    "--platform",
    "linux/amd64,linux/arm64",
    "-t",
    "plain",
    plain,
  ]);
  assert.equal(p.code, 0, p.stderr.slice(-3000));

  const arm = await cli(["run", "--platform", "linux/arm64", "plain", "uname", "-m"]);
  assert.equal(arm.code, 0, arm.stderr);
  assert.equal(arm.stdout, "aarch64\n");
  const amd = await cli(["run", "--rm", "--platform", "linux/amd64", "plain", "uname", "-m"]);
  assert.equal(amd.code, 0, amd.stderr);
  assert.equal(amd.stdout, "x86_64\n");

  const exit = await cli([
    "run",
    "--platform",
    "linux/arm64",
    "plain",
    "sh",
    "-c",
    "cat /built; echo err >&2; exit 7",
  ]);
  assert.equal(exit.code, 7, exit.stderr);
  assert.equal(exit.stdout, "built\n");
  assert.match(exit.stderr, /^err$/m);
  await assertNothingLeft();
});

test("polyarch run maps Entrypoint, Cmd, Env, User and WorkingDir as docker run does; writes are thrown away", async () => {
  const dir = await context(
    "app",
    [
      `FROM ${reg.host}/library/busybox:latest`,
      "RUN mkdir /work && echo hello > /work/greeting && chown app /work",
      "ENV GREETING=from-env",
      "WORKDIR /work",
      "USER app", // the busybox fixture's app: uid 1000
      'ENTRYPOINT ["/bin/sh", "-c"]',
      'CMD ["echo default $GREETING $(id -u) $(pwd); cat greeting"]',
      "",
    ].join("\n"),
  );
  const b = await cli([
    "build",
    "--progress",
    "plain",
    "--platform",
    "linux/amd64,linux/arm64",
    "-t",
    "runapp",
    dir,
  ]);
  assert.equal(b.code, 0, b.stderr.slice(-3000));

  const ep = await cli(["run", "--platform", "linux/arm64", "--entrypoint", "uname", "runapp", "-m"]);
  assert.equal(ep.code, 0, ep.stderr);
  assert.equal(ep.stdout, "aarch64\n");

  // No command: Entrypoint + Cmd, with the image's Env, User and WorkingDir.
  const dflt = await cli(["run", "--platform", "linux/arm64", "runapp"]);
  assert.equal(dflt.code, 0, dflt.stderr);
  assert.equal(dflt.stdout, "default from-env 1000 /work\nhello\n");

  // A command replaces Cmd and follows the Entrypoint.
  const cmd = await cli(["run", "--platform", "linux/arm64", "runapp", "echo out; echo err >&2; exit 7"]);
  assert.equal(cmd.code, 7, cmd.stderr);
  assert.equal(cmd.stdout, "out\n");
  assert.match(cmd.stderr, /^err$/m);

  // The container's writes go to a throwaway snapshot: a second run does not see the first one's file.
  assert.equal((await cli(["run", "runapp", "touch /work/left-behind"])).code, 0);
  const again = await cli(["run", "runapp", "test -e /work/left-behind && echo kept || echo gone"]);
  assert.equal(again.stdout, "gone\n", again.stderr);
  await assertNothingLeft();
});

test("polyarch run: an unknown image or platform is a clear error (exit 125)", async () => {
  const missing = await cli(["run", "no-such-image", "true"]);
  assert.equal(missing.code, 125);
  assert.match(
    missing.stderr,
    /no image docker\.io\/library\/no-such-image:latest in polyarch's image store/,
  );
  const platform = await cli(["run", "--platform", "linux/s390x", "runapp", "true"]);
  assert.equal(platform.code, 125);
  assert.match(platform.stderr, /has no linux\/s390x image/);
  await assertNothingLeft();
});

test("build --test: one failing platform blocks the push and is named; all passing lets it through", async () => {
  const dir = await context("tested", `FROM ${reg.host}/library/busybox:latest\nRUN echo built > /built\n`);
  const blocked = `${reg.host}/team/tested:blocked`;
  const fail = await cli([
    "build",
    "--progress",
    "plain",
    "--platform",
    "linux/amd64,linux/arm64",
    "--test",
    'cat /built && test "$(uname -m)" = x86_64',
    "-t",
    blocked,
    "--push",
    dir,
  ]);
  assert.equal(fail.code, 1, fail.stderr.slice(-3000));
  assert.match(
    fail.stderr,
    /--test "cat \/built && test .*" failed on linux\/arm64 \(exit code 1\): nothing was pushed/,
  );
  assert.doesNotMatch(fail.stderr, /failed on linux\/amd64/);
  assert.equal(await tagExists(blocked), false, "the failing build pushed its tag");

  const passed = `${reg.host}/team/tested:passed`;
  const ok = await cli([
    "build",
    "--progress",
    "plain",
    "--platform",
    "linux/amd64,linux/arm64",
    "--test",
    "cat /built && uname -m",
    "-t",
    passed,
    "--push",
    dir,
  ]);
  assert.equal(ok.code, 0, ok.stderr.slice(-3000));
  assert.match(ok.stderr, /aarch64/);
  assert.equal(await tagExists(passed), true);
  await assertNothingLeft();
});
