// Per-RUN-step overhead: polyarch's executor running `true` (snapshot prepare, bundle with a generated
// spec and user resolution, `runc run` mounting the overlay itself, stub cleanup, commit of the upper dir as a layer) beside a bare
// `runc run` of `true` on a ready-made bundle over the same rootfs, measured in the same run, interleaved.
// Target (issue 4): ratio <= 1.5. Needs root and runc.
//
//   node bench/run-step.ts [--runs 30] [--snapshotter auto|overlay|copy]
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatPlatform, hostPlatform } from "../src/oci/platform.ts";
import { RuncExecutor } from "../src/worker/executor/executor.ts";
import { buildRuntimeSpec } from "../src/worker/executor/spec.ts";
import { createSnapshotter, type SnapshotterMode } from "../src/worker/snapshot/create.ts";
import { busyboxRootfs } from "../test/harness/busybox-rootfs.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "30" }, snapshotter: { type: "string", default: "auto" } },
});
const runs = Number(values.runs);
const platform = hostPlatform();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function runcRun(stateDir: string, bundle: string, id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("runc", ["--root", stateDir, "run", "--bundle", bundle, id], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.resume();
    child.stderr.resume();
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`runc run exited ${code}`))));
  });
}

const dir = await mkdtemp(join(tmpdir(), "polyarch-bench-run-step-"));
try {
  const base = join(dir, "base");
  await mkdir(base);
  await busyboxRootfs(platform, base);
  const snapshotter = await createSnapshotter(join(dir, "snapshots"), values.snapshotter as SnapshotterMode);
  const executor = new RuncExecutor({ stateRoot: join(dir, "state") });

  // The baseline's bundle: one snapshot kept open, a config.json written once, nothing else per run.
  const fixed = await snapshotter.prepare("baseline", [base]);
  const bundle = join(dir, "bundle");
  await mkdir(bundle);
  await writeFile(join(bundle, "hosts"), "127.0.0.1\tlocalhost\n");
  await writeFile(join(bundle, "resolv.conf"), "");
  const limits = (await import("node:fs")).readFileSync("/proc/self/limits", "utf8");
  const hardNofile = Number(/^Max open files\s+\S+\s+(\d+)/m.exec(limits)?.[1] ?? 1048576);
  const spec = buildRuntimeSpec({
    rootfs: fixed.rootfs,
    args: ["true"],
    env: [],
    cwd: "/",
    user: { uid: 0, gid: 0, additionalGids: [], home: "/root" },
    network: "host",
    hostname: "buildkitsandbox",
    readonlyRootfs: false,
    mounts: [],
    hostsFile: join(bundle, "hosts"),
    resolvConfFile: join(bundle, "resolv.conf"),
    nofile: Math.min(hardNofile, 1048576),
  });
  await writeFile(join(bundle, "config.json"), JSON.stringify(spec));
  const bareState = join(dir, "bare-runc");

  let seq = 0;
  const bare = async () => {
    const t = performance.now();
    await runcRun(bareState, bundle, `bench-bare-${seq++}`);
    return performance.now() - t;
  };
  const ours = async () => {
    const t = performance.now();
    const key = `step-${seq++}`;
    const snap = await snapshotter.prepareExec(key, [base]);
    try {
      await executor.run(snap.root, { args: ["true"], env: [], platform });
    } finally {
      await snap.release();
    }
    await snapshotter.commit(key);
    const elapsed = performance.now() - t;
    // Dropping the layer is the cache's business, not the step's: outside the timed part.
    await snapshotter.remove(key);
    return elapsed;
  };

  for (let i = 0; i < 3; i++) {
    await bare();
    await ours();
  }
  const bareTimes: number[] = [];
  const ourTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    bareTimes.push(await bare());
    ourTimes.push(await ours());
  }
  await fixed.release();
  await snapshotter.remove("baseline");
  await snapshotter.settle();

  const b = median(bareTimes);
  const o = median(ourTimes);
  console.log(`run-step on ${formatPlatform(platform)}, ${runs} runs each, ${snapshotter.kind} snapshotter`);
  console.log(`  bare runc run true          median ${b.toFixed(1)} ms`);
  console.log(`  polyarch RUN step (true)    median ${o.toFixed(1)} ms`);
  console.log(`  ratio ${(o / b).toFixed(2)}x (target <= 1.5x)`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
