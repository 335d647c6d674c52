// A kill can leave a lock in any state: empty (killed between creating the file and writing the owner, or
// a power loss), naming a dead pid, or naming a pid the kernel has given to another process since. The next
// build takes each over; a lock of a live process is waited for, with a line saying who holds it, and
// for a bounded time only.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { selfIdentity } from "../../src/fsutil/process-identity.ts";
import { pushBusyboxImage } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { ensureCli, killGroup, startBuild } from "./support/build-process.ts";
import { checkState } from "./support/state-check.ts";

const watchdogMs = 120_000;
let reg: TestRegistry;
let work: string;
let ctx: string;
let state: string;

before(async () => {
  reg = await startRegistry();
  const base = await pushBusyboxImage(reg);
  work = await mkdtemp(join(tmpdir(), "polyarch-fault-locks-"));
  ctx = join(work, "ctx");
  state = join(work, "state");
  await mkdir(ctx, { recursive: true });
  await writeFile(
    join(ctx, "Dockerfile"),
    `FROM ${base.ref}\nCOPY a.txt /a.txt\nRUN sleep 2 && echo done > /done\n`,
  );
  await writeFile(join(ctx, "a.txt"), "a\n");
  await ensureCli();
});
after(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const args = (noCache = false) => [
  "build",
  "--progress",
  "plain",
  "-o",
  `type=oci,dest=${join(work, "out.tar")}`,
  ...(noCache ? ["--no-cache"] : []),
  ctx,
];
const locksDir = () => join(state, "solver", "locks");

/**
 * Kills a build while its RUN step (`sleep 2`) holds its lock; resolves the lock's path. The short locks
 * of the steps before it come and go: a lock counts once it has stayed for a moment, and the kill is
 * tried again if the lock turned out to be gone by the time the build died.
 */
async function killWhileLocked(): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const b = startBuild(args(true), { POLYARCH_ROOT: state }, watchdogMs);
    let exited = false;
    void b.exited.then(() => {
      exited = true;
    });
    const seen = new Map<string, number>();
    let lock: string | undefined;
    while (!lock) {
      if (exited) throw new Error("the build ended before its RUN step took its lock");
      await sleep(50);
      const names = await readdir(locksDir()).catch(() => [] as string[]);
      for (const n of names.filter((n) => /^[0-9a-f]{64}\.lock$/.test(n))) {
        const since = seen.get(n) ?? Date.now();
        seen.set(n, since);
        if (Date.now() - since >= 400) lock = join(locksDir(), n);
      }
    }
    killGroup(b.pid);
    await b.exited;
    if (existsSync(lock) || attempt >= 3) return lock;
  }
}

const longAgo = new Date(Date.now() - 365 * 24 * 3600 * 1000);

test("fault: a lock left empty, or naming a dead or reused pid, is taken over by the next build", async (t) => {
  const cases: [string, (path: string) => Promise<void>][] = [
    ["empty", async (p) => writeFile(p, "")],
    ["dead pid (as the kill left it)", async () => {}],
    // pid 1 runs, but started long after this lock was written: its pid was reused.
    ["reused pid (old pid-only format)", async (p) => writeFile(p, "1\n")],
    // This test's own pid runs, but with another start time than the lock names.
    ["reused pid", async (p) => writeFile(p, `${process.pid}:1:${selfIdentity().split(":")[2]}\n`)],
  ];
  for (const [name, plant] of cases) {
    const lock = await killWhileLocked();
    await plant(lock);
    await utimes(lock, longAgo, longAgo);
    const r = await startBuild(args(), { POLYARCH_ROOT: state }, watchdogMs).exited;
    assert.equal(r.hung, false, `${name}: the next build hung on the lock`);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.deepEqual((await checkState(state)).problems, [], name);
  }
  t.diagnostic(`figure: stale lock kinds taken over: ${cases.length}`);
});

test("fault: a lock of a live process is waited for with a line naming it, then a clear error", async () => {
  const lock = await killWhileLocked();
  // The lock now names this (live) test process, as if it were a build working on the step.
  await writeFile(lock, `${selfIdentity()}\n`);
  const r = await startBuild(args(true), { POLYARCH_ROOT: state, POLYARCH_LOCK_TIMEOUT: "3" }, watchdogMs)
    .exited;
  await rm(lock, { force: true });
  assert.equal(r.hung, false);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`waiting for polyarch process ${process.pid} \\(lock ${lock}\\)`));
  assert.match(
    r.stderr,
    new RegExp(`waited \\d+s for polyarch process ${process.pid}, which is working on \\[\\d/3\\]`),
  );
  assert.match(r.stderr, /POLYARCH_LOCK_TIMEOUT/);
  assert.doesNotMatch(r.stderr, /bug/i);
});
