// Garbage collection under faults (issue 8, item 9): a prune killed with SIGKILL at any moment leaves a
// consistent store (no record names deleted data) and the next build works and gives the same image; a
// prune run while another build is in the middle of a step never breaks that build.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runOk } from "../harness/exec.ts";
import { pushBusyboxImage } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { polyarch } from "../support/cli.ts";
import { ensureCli, killGroup, startBuild } from "./support/build-process.ts";
import { checkState } from "./support/state-check.ts";

const watchdogMs = 300_000;
let reg: TestRegistry;
let base: string;
let work: string;

before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
  work = await mkdtemp(join(tmpdir(), "polyarch-fault-prune-"));
  await ensureCli();
});
after(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

let seq = 0;
async function context(dockerfile: string, files: Record<string, string>): Promise<string> {
  const ctx = join(work, `ctx-${++seq}`);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  for (const [name, text] of Object.entries(files)) await writeFile(join(ctx, name), text);
  return ctx;
}

/** How much of the state a prune removes is there: cache records (chain and layer) and snapshots. */
async function records(state: string): Promise<{ records: number; snapshots: number; trash: number }> {
  let records = 0;
  for (const kind of ["chains", "layers"])
    records += (await readdir(join(state, "solver", "index", kind)).catch(() => [])).filter((f) =>
      f.endsWith(".json"),
    ).length;
  const snapshots = (await readdir(join(state, "solver", "dirs")).catch(() => [])).length;
  const trash = (await readdir(join(state, "solver", "gc-trash")).catch(() => [])).length;
  return { records, snapshots, trash };
}

/** A reproducible build (SOURCE_DATE_EPOCH, rewrite-timestamp); resolves its image digest. */
async function build(state: string, ctx: string): Promise<string> {
  const meta = join(work, `meta-${++seq}.json`);
  const r = await polyarch(
    [
      "build",
      "--progress",
      "plain",
      "--build-arg",
      "SOURCE_DATE_EPOCH=0",
      "--metadata-file",
      meta,
      "-o",
      `type=oci,dest=${join(work, `out-${seq}.tar`)},rewrite-timestamp=true`,
      ctx,
    ],
    { env: { POLYARCH_ROOT: state, POLYARCH_GC: "off" } },
  );
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(await readFile(meta, "utf8")) as Record<string, string>)["containerimage.digest"]!;
}

test("a prune killed at any moment leaves a consistent store, and the next build gives the same image", async () => {
  const state = join(work, "state-kill");
  const ctxs: { ctx: string; digest: string }[] = [];
  for (let i = 0; i < 4; i++) {
    const ctx = await context(
      `FROM ${base}\nCOPY f.txt /f.txt\nRUN for n in $(seq 1 3000); do echo $n > /file-$n; done\nCOPY g.txt /g.txt\n`,
      { "f.txt": `${i}\n`, "g.txt": `g${i}\n` },
    );
    ctxs.push({ ctx, digest: await build(state, ctx) });
  }
  // How long a whole prune of this state takes (on a copy), so the kills land across its run.
  const copy = join(work, "state-kill-copy");
  await runOk("cp", ["-a", state, copy]);
  const started = Date.now();
  const whole = await polyarch(["prune", "--all", "--force"], { env: { POLYARCH_ROOT: copy } });
  assert.equal(whole.code, 0, whole.stderr);
  const tookMs = Date.now() - started;
  await rm(copy, { recursive: true, force: true });
  let midway = 0;
  for (const share of [0.3, 0.45, 0.6, 0.7, 0.8, 0.9]) {
    const delayMs = Math.round(tookMs * share);
    const before = await records(state);
    const prune = startBuild(["prune", "--all", "--force"], { POLYARCH_ROOT: state }, watchdogMs);
    await sleep(delayMs);
    killGroup(prune.pid);
    const r = await prune.exited;
    assert.equal(r.hung, false);
    const left = await records(state);
    const partly = (a: number, b: number) => a > 0 && a < b;
    if (partly(left.records, before.records) || partly(left.snapshots, before.snapshots) || left.trash > 0)
      midway++;
    // Right after the kill, before any build tidied up: no record names anything that is gone.
    const report = await checkState(state);
    assert.deepEqual(
      report.problems.filter((p) => /names missing|hashes to/.test(p)),
      [],
      `killed after ${delayMs} ms`,
    );
    const { ctx, digest } = ctxs[Math.round(share * 10) % ctxs.length]!;
    assert.equal(await build(state, ctx), digest, `the build after a prune killed at ${delayMs} ms`);
    assert.deepEqual((await checkState(state)).problems, [], `after the build that followed ${delayMs} ms`);
  }
  // The kills did land inside the prune's work (records partly removed), not only before or after it.
  assert.ok(midway > 0, "no kill landed while the prune was removing records or snapshots");
});

test("a prune while another build is in the middle of a step does not break that build", async () => {
  const state = join(work, "state-concurrent");
  const reference = join(work, "state-reference");
  const warm = await context(`FROM ${base}\nCOPY f.txt /f.txt\nRUN echo old > /old.txt\n`, {
    "f.txt": "f\n",
  });
  await build(state, warm);
  // The running build uses the cached base image and COPY (records the prune would otherwise remove).
  const slow = await context(
    `FROM ${base}\nCOPY f.txt /f.txt\nRUN sleep 4 && cat /f.txt > /copy.txt\nCOPY g.txt /g.txt\n`,
    { "f.txt": "f\n", "g.txt": "g\n" },
  );
  const expected = await build(reference, slow);

  const meta = join(work, "slow-meta.json");
  const running = startBuild(
    [
      "build",
      "--progress",
      "plain",
      "--build-arg",
      "SOURCE_DATE_EPOCH=0",
      "--metadata-file",
      meta,
      "-o",
      `type=oci,dest=${join(work, "slow.tar")},rewrite-timestamp=true`,
      slow,
    ],
    { POLYARCH_ROOT: state, POLYARCH_GC: "off" },
    watchdogMs,
  );
  // Wait until it has announced itself and finished reading the cache: its RUN is then running.
  for (;;) {
    const builds = await readdir(join(state, "solver", "builds")).catch(() => []);
    const probing = await readdir(join(state, "solver", "probing")).catch(() => []);
    if (builds.length > 0 && probing.length === 0) break;
    await sleep(20);
  }
  const pruned = await polyarch(["prune", "--all", "--force"], { env: { POLYARCH_ROOT: state } });
  assert.equal(pruned.code, 0, pruned.stderr);
  // It removed what the running build does not use (the warm build's RUN result), not what it does.
  assert.match(pruned.stdout, /^run-/m);
  const r = await running.exited;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /CACHED/);
  const digest = (JSON.parse(await readFile(meta, "utf8")) as Record<string, string>)[
    "containerimage.digest"
  ];
  assert.equal(digest, expected);
  assert.deepEqual((await checkState(state)).problems, []);
  // And the state dir builds on as before.
  assert.equal(await build(state, slow), expected);
});
