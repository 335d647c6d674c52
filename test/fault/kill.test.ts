// kill -9 at random points of builds on one state dir (the node process alone, or its whole process group),
// each followed by a rebuild that must finish with the digest of the same build on a fresh state dir, and a
// check that the state dir holds nothing broken or left behind. More runs: POLYARCH_FAULT_KILLS=N.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pushBusyboxImage } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { ensureCli, killGroup, killNode, startBuild } from "./support/build-process.ts";
import { checkState } from "./support/state-check.ts";

const kills = Number(process.env.POLYARCH_FAULT_KILLS ?? 20);
/** A build here takes seconds; one that has not finished in this long hangs. */
const watchdogMs = 180_000;

let reg: TestRegistry;
let work: string;
let ctx: string;

before(async () => {
  reg = await startRegistry();
  const base = await pushBusyboxImage(reg);
  work = await mkdtemp(join(tmpdir(), "polyarch-fault-kill-"));
  ctx = join(work, "ctx");
  await mkdirp(ctx);
  await writeFile(
    join(ctx, "Dockerfile"),
    `FROM ${base.ref}
RUN --mount=type=cache,target=/cache echo run >> /cache/runs && echo one > /one
COPY a.txt /a.txt
RUN cat /a.txt > /two && echo two >> /two
`,
  );
  await writeFile(join(ctx, "a.txt"), "a\n");
  await ensureCli();
});
after(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function mkdirp(dir: string) {
  await (await import("node:fs/promises")).mkdir(dir, { recursive: true });
}

let seq = 0;
/** polyarch build args writing the image (reproducibly: fixed epoch, rewritten times) to a fresh file. */
function buildArgs(noCache: boolean): { args: string[]; iid: string } {
  const n = ++seq;
  const iid = join(work, `iid-${n}`);
  return {
    iid,
    args: [
      "build",
      "--platform",
      "linux/amd64,linux/arm64",
      "--build-arg",
      "SOURCE_DATE_EPOCH=0",
      "-o",
      `type=oci,dest=${join(work, `out-${n}.tar`)},rewrite-timestamp=true`,
      "--iidfile",
      iid,
      "--progress",
      "plain",
      ...(noCache ? ["--no-cache"] : []),
      ctx,
    ],
  };
}

async function buildOk(stateRoot: string, noCache = false): Promise<{ digest: string; ms: number }> {
  const { args, iid } = buildArgs(noCache);
  const t0 = Date.now();
  const r = await startBuild(args, { POLYARCH_ROOT: stateRoot }, watchdogMs).exited;
  if (r.hung) throw new Error(`the build hung (no exit in ${watchdogMs / 1000}s):\n${r.stderr}`);
  if (r.code !== 0) throw new Error(`the build failed (${r.code ?? r.signal}):\n${r.stderr}`);
  return { digest: (await readFile(iid, "utf8")).trim(), ms: Date.now() - t0 };
}

test(`fault: kill -9 at random points of ${kills} builds, each followed by a rebuild and a state check`, async (t) => {
  const fresh = join(work, "fresh-state");
  const clean = await buildOk(fresh);
  await rm(fresh, { recursive: true, force: true });

  const state = join(work, "state");
  let hangs = 0;
  let failedRebuilds = 0;
  let badStates = 0;
  const failures: string[] = [];
  for (let i = 0; i < kills; i++) {
    // Alternate cold (--no-cache) and cached builds, and which processes the kill hits.
    const noCache = i % 2 === 1;
    const group = i % 4 >= 2;
    const { args } = buildArgs(noCache);
    const victim = startBuild(args, { POLYARCH_ROOT: state }, watchdogMs);
    // Anywhere from startup to past the end of a cold build.
    const at = Math.floor(Math.random() * clean.ms * 1.2);
    const timer = setTimeout(() => (group ? killGroup(victim.pid) : killNode(victim.pid)), at);
    const ended = await victim.exited;
    clearTimeout(timer);
    if (group) killGroup(victim.pid); // runc children of a finished build: none; of a killed group: gone
    if (ended.hung) hangs++;

    const label = `run ${i + 1} (kill ${group ? "group" : "node"} at ${at} ms${noCache ? ", --no-cache" : ""})`;
    try {
      const rebuilt = await buildOk(state);
      if (rebuilt.digest !== clean.digest)
        throw new Error(`rebuild gave ${rebuilt.digest}, a fresh state dir gives ${clean.digest}`);
    } catch (e) {
      if (/hung/.test((e as Error).message)) hangs++;
      else failedRebuilds++;
      failures.push(`${label}: ${(e as Error).message}`);
      continue;
    }
    const report = await checkState(state);
    if (report.problems.length > 0) {
      badStates++;
      failures.push(`${label}: state dir:\n  ${report.problems.join("\n  ")}`);
    }
  }
  // A --no-cache build replaces every step record: it removes the dirs the old records named.
  await buildOk(state, true);
  const final = await checkState(state);
  t.diagnostic(`figure: kill -9 runs: ${kills}, hangs: ${hangs}, failed rebuilds: ${failedRebuilds}`);
  t.diagnostic(`figure: kill -9 state checks with problems: ${badStates}`);
  t.diagnostic(
    `figure: unreferenced step dirs after the runs and a --no-cache build: ${final.unreferencedDirs.length}`,
  );
  assert.deepEqual(failures, []);
  assert.deepEqual(final.problems, []);
  assert.deepEqual(final.unreferencedDirs, []);
});
