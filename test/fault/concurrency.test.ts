// Several polyarch processes building on one state dir at once, round after round, cold (--no-cache) and
// cached: every build succeeds with the same image, and the state dir is intact and clean afterwards.
// Also one build racing itself: many cache-mount RUN steps on two platforms starting at the same moment.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pushBusyboxImage } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { ensureCli, startBuild } from "./support/build-process.ts";
import { checkState } from "./support/state-check.ts";

const rounds = 10;
const watchdogMs = 300_000;

let reg: TestRegistry;
let base: string;
let work: string;

before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
  work = await mkdtemp(join(tmpdir(), "polyarch-fault-conc-"));
  await ensureCli();
});
after(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

let seq = 0;
async function context(dockerfile: string): Promise<string> {
  const ctx = join(work, `ctx-${++seq}`);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  await writeFile(join(ctx, "a.txt"), "a\n");
  return ctx;
}

/** Runs one build; resolves its image digest, or an error text. */
async function build(
  ctx: string,
  state: string,
  noCache: boolean,
): Promise<{ digest?: string; error?: string }> {
  const n = ++seq;
  const iid = join(work, `iid-${n}`);
  const r = await startBuild(
    [
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
    { POLYARCH_ROOT: state },
    watchdogMs,
  ).exited;
  if (r.hung) return { error: `hung:\n${r.stderr.slice(-3000)}` };
  if (r.code !== 0) return { error: `exit ${r.code ?? r.signal}:\n${r.stderr.slice(-3000)}` };
  return { digest: (await readFile(iid, "utf8")).trim() };
}

for (const processes of [2, 4]) {
  test(`fault: ${processes} concurrent builds on one state dir, ${rounds} rounds`, async (t) => {
    const ctx = await context(`FROM ${base}
RUN --mount=type=cache,target=/cache echo run >> /cache/runs && echo one > /one
COPY a.txt /a.txt
RUN cat /a.txt > /two && echo two >> /two
`);
    const state = join(work, `state-${processes}`);
    const failures: string[] = [];
    const digests = new Set<string>();
    for (let round = 0; round < rounds; round++) {
      // Even rounds all cold; odd rounds half cold, half cached.
      const results = await Promise.all(
        Array.from({ length: processes }, (_, i) => build(ctx, state, round % 2 === 0 || i % 2 === 0)),
      );
      for (const r of results) {
        if (r.error) failures.push(`round ${round + 1}: ${r.error}`);
        else digests.add(r.digest!);
      }
    }
    const report = await checkState(state);
    t.diagnostic(
      `figure: ${processes} concurrent builds x ${rounds} rounds: ${processes * rounds} builds, ${failures.length} failed`,
    );
    assert.deepEqual(failures, []);
    assert.equal(digests.size, 1, `every build gives the same image: ${[...digests].join(", ")}`);
    assert.deepEqual(report.problems, []);
  });
}

test("fault: many cache-mount RUN steps on two platforms start at once in one build", async (t) => {
  const stages = 6;
  const ctx = await context(
    [
      ...Array.from(
        { length: stages },
        (_, i) => `FROM ${base} AS s${i}
RUN --mount=type=cache,target=/cache echo ${i} >> /cache/log && echo ${i} > /out`,
      ),
      `FROM ${base}`,
      ...Array.from({ length: stages }, (_, i) => `COPY --from=s${i} /out /out${i}`),
      "",
    ].join("\n"),
  );
  const repeats = 4;
  const failures: string[] = [];
  for (let i = 0; i < repeats; i++) {
    // A fresh state dir: the cache mount's directory is made (staged and renamed) only on first use.
    const r = await build(ctx, join(work, `state-many-${i}`), false);
    if (r.error) failures.push(`build ${i + 1}: ${r.error}`);
  }
  t.diagnostic(
    `figure: cold builds with ${stages * 2} cache-mount steps starting at once: ${repeats}, failed: ${failures.length}`,
  );
  assert.deepEqual(failures, []);
});
