// `polyarch run -i -t -e -v` (issue 10, item 2's run, with docker run's flags), through the CLI with runc:
// what the container sees of its environment, volumes, stdin and terminal.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { run } from "../../harness/exec.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { polyarch, tempStateRoot } from "../../support/cli.ts";

let reg: TestRegistry;
let state: Awaited<ReturnType<typeof tempStateRoot>>;
let work: string;
const image = "runflags:1";

const env = () => ({ POLYARCH_ROOT: state.dir, DOCKER_CONFIG: join(work, "docker-config") });
const cli = (args: string[], input?: string, extraEnv: Record<string, string> = {}) =>
  polyarch(args, { env: { ...env(), ...extraEnv }, ...(input === undefined ? {} : { input }) });

before(async () => {
  reg = await startRegistry();
  await pushBusyboxImage(reg);
  state = await tempStateRoot();
  work = await mkdtemp(join(tmpdir(), "polyarch-run-flags-"));
  const ctx = join(work, "ctx");
  await mkdir(ctx);
  await writeFile(
    join(ctx, "Dockerfile"),
    `FROM ${reg.host}/library/busybox:latest\nENV A=image B=kept\nRUN mkdir /data\n`,
  );
  const b = await cli(["build", "--progress", "plain", "-t", image, ctx]);
  assert.equal(b.code, 0, b.stderr);
});
after(async () => {
  await reg?.stop();
  await state?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

test("-e KEY=VALUE replaces the image's variable, -e KEY passes this shell's value, an unset KEY is left out", async () => {
  const r = await cli(
    [
      "run",
      "-e",
      "A=cli",
      "--env=C",
      "-e",
      "UNSET_HERE",
      image,
      "sh",
      "-c",
      "echo $A $B $C; env | grep UNSET_HERE || echo unset",
    ],
    undefined,
    { C: "from-host" },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "cli kept from-host\nunset\n");
});

test("-v HOST:CONTAINER binds a host directory read-write, :ro read-only", async () => {
  const host = join(work, "vol");
  await mkdir(host);
  await writeFile(join(host, "in"), "from the host\n");
  const rw = await cli([
    "run",
    "-v",
    `${host}:/data`,
    image,
    "sh",
    "-c",
    "cat /data/in; echo out > /data/out",
  ]);
  assert.equal(rw.code, 0, rw.stderr);
  assert.equal(rw.stdout, "from the host\n");
  assert.equal(await readFile(join(host, "out"), "utf8"), "out\n");
  const ro = await cli(["run", "-v", `${host}:/data:ro`, image, "sh", "-c", "echo x > /data/ro"]);
  assert.notEqual(ro.code, 0);
  await assert.rejects(readFile(join(host, "ro")));
  // The mount point need not exist in the image: it is made in the throwaway snapshot.
  const fresh = await cli(["run", "-v", `${host}:/new/place`, image, "cat", "/new/place/in"]);
  assert.equal(fresh.stdout, "from the host\n", fresh.stderr);
});

test("bad -v and -e values are clear errors (exit 125)", async () => {
  for (const [flag, words] of [
    [["-v", "data:/data"], /named volumes are not supported/],
    [["-v", `${work}:data`], /container path must be absolute/],
    [["-v", `${work}/missing:/data`], /does not exist/],
    [["-v", `${work}:/data:rx`], /unknown mode "rx"/],
    [["-e", "=x"], /invalid environment variable/],
  ] as const) {
    const r = await cli(["run", ...flag, image, "true"]);
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, words);
    assert.doesNotMatch(r.stderr, /looks like a bug|\n\s+at /);
  }
});

test("-i gives the container polyarch's stdin; without it the container reads nothing", async () => {
  const withI = await cli(["run", "-i", image, "sh", "-c", "cat; echo end"], "piped in\n");
  assert.equal(withI.code, 0, withI.stderr);
  assert.equal(withI.stdout, "piped in\nend\n");
  const without = await cli(["run", image, "sh", "-c", "cat; echo end"], "piped in\n");
  assert.equal(without.stdout, "end\n");
});

test("-t gives the container a terminal when polyarch has one, and is refused without one", async () => {
  const refused = await cli(["run", "-t", image, "tty"]);
  assert.equal(refused.code, 125);
  assert.match(refused.stderr, /the input device is not a TTY/);
  // script(1) gives polyarch a pseudo-terminal, as a user's shell has.
  const bin = join(new URL("../../../", import.meta.url).pathname, "bin/polyarch.mjs");
  const r = await run(
    "script",
    ["-qec", `${process.execPath} ${bin} run -it ${image} sh -c 'tty; test -t 0'`, "/dev/null"],
    {
      env: { ...process.env, ...env(), NO_COLOR: "1" },
    },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\/dev\/pts\/\d+/);
});
