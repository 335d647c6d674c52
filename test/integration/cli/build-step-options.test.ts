// The build flags that shape every RUN step (--add-host, --ulimit, --shm-size) and RUN --network=host
// behind --allow network.host, through the CLI: what the step sees, that the flags are part of the step's
// cache key, and clear errors for values that are not valid.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { polyarch, tempStateRoot } from "../../support/cli.ts";

let reg: TestRegistry;
let base: string;
let state: Awaited<ReturnType<typeof tempStateRoot>>;
let work: string;
let seq = 0;

before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
  state = await tempStateRoot();
  work = await mkdtemp(join(tmpdir(), "polyarch-step-options-"));
});
after(async () => {
  await reg?.stop();
  await state?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

async function build(dockerfile: string, flags: string[]) {
  const dir = join(work, `case-${++seq}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "Dockerfile"), dockerfile);
  const out = join(dir, "out");
  const r = await polyarch(["build", "--progress=plain", ...flags, "-o", `type=local,dest=${out}`, dir], {
    env: { POLYARCH_ROOT: state.dir, ...reg.env() },
  });
  return { ...r, read: (name: string) => readFile(join(out, name), "utf8") };
}

const probe =
  "RUN cat /etc/hosts > /hosts; ulimit -Sn > /nofile; df -k /dev/shm | tail -1 | awk '{print $2}' > /shm\n";

// The RUN step's progress record says CACHED (the base image's always does).
const runCached = /#(\d+) \[2\/2\] RUN [^\n]*\n#\1 CACHED/;

test("--add-host, --ulimit and --shm-size are what a RUN step sees, and part of its cache key", async () => {
  const dockerfile = `FROM ${base}\n${probe}`;
  const first = await build(dockerfile, [
    "--add-host",
    "db:10.0.0.5",
    "--ulimit",
    "nofile=2048",
    "--shm-size",
    "32m",
  ]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(await first.read("hosts"), /^10\.0\.0\.5\tdb$/m);
  assert.equal(await first.read("nofile"), "2048\n");
  assert.equal(await first.read("shm"), "32768\n");

  const again = await build(dockerfile, [
    "--add-host",
    "db:10.0.0.5",
    "--ulimit",
    "nofile=2048",
    "--shm-size",
    "32m",
  ]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, runCached);
  const other = await build(dockerfile, [
    "--add-host",
    "db:10.0.0.6",
    "--ulimit",
    "nofile=2048",
    "--shm-size",
    "32m",
  ]);
  assert.equal(other.code, 0, other.stderr);
  assert.doesNotMatch(other.stderr, runCached);
  assert.match(await other.read("hosts"), /^10\.0\.0\.6\tdb$/m);
});

test("RUN --network=host runs with --allow network.host and is refused without it, even when cached", async () => {
  const dockerfile = `FROM ${base}\nRUN --network=host cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' ' | sort > /net\n`;
  const allowed = await build(dockerfile, ["--allow", "network.host"]);
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.ok((await allowed.read("net")).split("\n").filter(Boolean).length > 1, "the host's interfaces");
  const refused = await build(dockerfile, []);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /Dockerfile:2:1: network\.host is not allowed/);
  assert.match(refused.stderr, /--allow network\.host/);
});

test("invalid step option values are clear errors naming the flag", async () => {
  const dockerfile = `FROM ${base}\nRUN true\n`;
  for (const [flags, words] of [
    [["--add-host", "db"], /invalid IP address in add-host: ""/],
    [["--add-host", "db:host-gateway"], /host-gateway is not supported/],
    [["--ulimit", "nofiles=1"], /invalid ulimit type: nofiles/],
    [["--ulimit", "nofile=4:2"], /soft limit must be less than or equal to hard limit/],
    [["--shm-size", "lots"], /invalid --shm-size "lots"/],
  ] as const) {
    const r = await build(dockerfile, [...flags]);
    assert.equal(r.code, 1, `${flags.join(" ")} was accepted`);
    assert.match(r.stderr, words);
    assert.doesNotMatch(r.stderr, /looks like a bug|\n\s+at /);
  }
});
