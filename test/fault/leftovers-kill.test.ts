// kill -9 of polyarch during an emulated RUN (polyarch alone, or its whole process group and the guard
// that would clean up after it): the next build on the same state root — even a fully cached one that
// runs no step — succeeds and leaves nothing of the dead build: no container, mount, cgroup or bundle.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { leftoverPlaces } from "../../src/worker/local/local-worker.ts";
import { pushBusyboxImage } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { polyarch, tempStateRoot } from "../support/cli.ts";
import { logsByVertex, solveStatuses } from "../support/solve-status.ts";
import { leftoverCount, stateLeftovers } from "./support/leftovers.ts";

const repo = new URL("../../", import.meta.url).pathname;
let reg: TestRegistry;
let base: string;
let work: string;

before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
  work = await mkdtemp(join(tmpdir(), "polyarch-fault-kill-"));
  await writeFile(join(work, "token"), "tok-a7d1f0c2e9");
});
after(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function context(name: string, dockerfile: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "Dockerfile"), dockerfile);
  return dir;
}

/** Starts a build in a process group of its own; resolves once its emulated step has printed `marker`. */
async function startBuild(stateDir: string, ctx: string, marker: string) {
  await polyarch(["--version"]); // bundles dist/ before the clock of the step starts
  const child = spawn(
    process.execPath,
    [
      join(repo, "bin/polyarch.mjs"),
      "build",
      "--platform",
      "linux/arm64",
      "--progress",
      "rawjson",
      "--secret",
      `id=tok,src=${join(work, "token")}`,
      "-o",
      `type=oci,dest=${join(work, "never.tar")}`,
      ctx,
    ],
    { env: { ...process.env, POLYARCH_ROOT: stateDir }, stdio: ["ignore", "ignore", "pipe"], detached: true },
  );
  let buffered = "";
  const started = new Promise<void>((resolve, reject) => {
    child.stderr.on("data", (d: Buffer) => {
      buffered += d.toString();
      // Whole lines only: the last one may still be arriving.
      const lines = solveStatuses(buffered.slice(0, buffered.lastIndexOf("\n") + 1));
      if ([...logsByVertex(lines).values()].some((text) => text.includes(marker))) resolve();
    });
    child.on("close", (code) =>
      reject(new Error(`the build ended (${code}) before its step ran:\n${buffered}`)),
    );
  });
  await started;
  return child;
}

/** The orphan guards a polyarch process started (see worker/executor/orphan-guard.ts). */
async function guardsOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const cmd = await readFile(`/proc/${name}/cmdline`, "utf8").catch(() => "");
    if (cmd.includes("polyarch-orphan-guard") && cmd.includes(`polyarch-${pid.toString(36)}-`))
      out.push(Number(name));
  }
  return out;
}

// The second line pushes the first past the secret masker's look-behind, so it is shown at once.
const emulatedStep = (marker: string) => `FROM ${base}
RUN --mount=type=secret,id=tok,env=TOK --mount=type=secret,id=tok,target=/run/tokfile echo ${marker} && echo ${"-".repeat(64)} && sleep 120
`;

for (const how of ["polyarch alone", "its process group and its guard"] as const) {
  test(`fault: kill -9 of ${how} during an emulated RUN leaves nothing once the next build ran`, async (t) => {
    await using state = await tempStateRoot();
    const marker = `started-${how.length}`;
    const child = await startBuild(
      state.dir,
      await context(`kill-${how.length}`, emulatedStep(marker)),
      marker,
    );
    const pid = child.pid!;

    // While the step runs its bundle (whose config.json holds the env secret) is for root's eyes only.
    const { bundleRoot } = leftoverPlaces(state.dir);
    assert.equal((await stat(bundleRoot)).mode & 0o777, 0o700);
    const [bundle] = await readdir(bundleRoot);
    assert.ok(bundle?.startsWith(`polyarch-${pid.toString(36)}-`), String(bundle));
    assert.equal((await stat(join(bundleRoot, bundle!))).mode & 0o777, 0o700);
    assert.equal((await stat(join(bundleRoot, bundle!, "config.json"))).mode & 0o777, 0o600);

    // The secret file the step mounts is in a private dir of the build's own while the step runs. (After the
    // kill, any other build on this machine may already reap it: its owner is dead. So it is counted here.)
    const running = await stateLeftovers(state.dir, [pid]);
    assert.equal(running.privateDirs.length, 1, JSON.stringify(running));

    const exited = new Promise((r) => child.on("close", r));
    if (how === "polyarch alone") process.kill(pid, "SIGKILL");
    else {
      for (const g of await guardsOf(pid)) process.kill(g, "SIGKILL");
      process.kill(-pid, "SIGKILL");
    }
    await exited;
    const before = await stateLeftovers(state.dir, [pid]);
    t.diagnostic(
      `figure: leftovers of the killed build (${how}) right after the kill: ${leftoverCount(before)}`,
    );

    // At once, the next build: with a RUN step after polyarch alone died, a fully cached one (no step,
    // no snapshotter) after everything died.
    const next =
      how === "polyarch alone"
        ? `FROM ${base}\nRUN echo next > /next\n`
        : `FROM ${base}\nENV NOTHING_TO_RUN=1\n`;
    const r = await polyarch(
      [
        "build",
        "--platform",
        "linux/amd64",
        "-o",
        `type=oci,dest=${join(work, `next-${how.length}.tar`)}`,
        await context(`next-${how.length}`, next),
      ],
      { env: { POLYARCH_ROOT: state.dir } },
    );
    assert.equal(r.code, 0, r.stderr.slice(-3000));

    const left = await stateLeftovers(state.dir, [pid]);
    t.diagnostic(
      `figure: leftovers of the killed build (${how}) after the next build: ${leftoverCount(left)}`,
    );
    assert.deepEqual(left, { containers: [], mounts: [], cgroups: [], bundles: [], privateDirs: [] });
    // Nothing of anyone is left on this state root. (Cgroups are machine-wide, and other builds run on
    // this machine meanwhile: they are checked for the killed build's owner above.)
    const { cgroups: _cgroups, privateDirs: _dirs, ...onStateRoot } = await stateLeftovers(state.dir);
    assert.deepEqual(onStateRoot, { containers: [], mounts: [], bundles: [] });
  });
}
