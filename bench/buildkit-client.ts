// polyarch's BuildKit client beside buildctl, both driving the same warm buildkitd v0.24.0 in one run: the
// small 2-stage Dockerfile for linux/amd64 + linux/arm64, an OCI archive out (polyarch's streams into its
// content store, verified blob by blob; buildctl's is written to a file). Issue 12 asks for polyarch's
// client overhead ≤ 1.1× buildctl's.
//
//   node bench/buildkit-client.ts [--runs 1]                 (after scripts/setup, as root)
//
// A third column runs the same build through the CLI a user types, `polyarch build --builder B` with B a
// builder whose one node is that daemon (`create --driver remote`): the library figure plus process start,
// the client's own planning (it resolves the base image's metadata) and the export of the OCI tar.
//
// Each case runs both clients in turn (order alternating per run) on the same daemon: "cold" after
// `buildctl prune --all` (the base pulled again, every step run), "cached" with nothing changed (what a
// CI rebuild sees: context re-sync + export). polyarch keeps one content store for the run (blobs are
// fsynced into it; buildctl writes its tar without fsync). Times are the client's wall clock from the call to the image
// being in place; CPU is the daemon's (children included), read from /proc.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { buildWithBuildKit } from "../src/buildkit/build.ts";
import { openContentStore } from "../src/content/index.ts";
import { pushBusyboxImage } from "../test/harness/images.ts";
import { startRegistry } from "../test/harness/registry.ts";
import { daemonCpuMs, startBuildKitDaemon } from "./lib/buildkit.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "1" } } });
const runs = Number(values.runs);

async function smallContext(dir: string, base: string): Promise<string> {
  const files: Record<string, string> = {
    Dockerfile: [
      `FROM ${base} AS build`,
      "WORKDIR /src",
      "COPY app/ ./",
      "RUN sh ./build.sh > /out.txt",
      `FROM ${base}`,
      "WORKDIR /app",
      "COPY --from=build /out.txt ./",
      "COPY config/ /etc/app/",
      "RUN sed -n 1p out.txt > first.txt",
      "",
    ].join("\n"),
    "app/build.sh": 'for f in *.txt; do echo "$f: $(wc -c < "$f")"; done\n',
    "app/a.txt": "alpha\n".repeat(100),
    "app/b.txt": "beta\n".repeat(200),
    "config/app.conf": "mode=production\n",
    "config/extra.conf": "level=3\n",
  };
  const ctx = join(dir, "small");
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(ctx, name)), { recursive: true });
    await writeFile(join(ctx, name), text);
  }
  return ctx;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const reg = await startRegistry();
const daemon = await startBuildKitDaemon(reg.host);
try {
  const base = (await pushBusyboxImage(reg)).ref;
  const work = await mkdtemp(join(tmpdir(), "polyarch-bench-bkclient-"));
  const ctx = await smallContext(work, base);
  const platforms = "linux/amd64,linux/arm64";
  let seq = 0;
  // One state dir for the run, as a user has: a cached rebuild's blobs are already there and not rewritten.
  const store = await openContentStore(join(work, "store"));
  const polyarch = async () => {
    const cpu0 = await daemonCpuMs(daemon.pid);
    const t0 = performance.now();
    await buildWithBuildKit({
      node: "bench",
      endpoint: { address: daemon.address },
      contextDir: ctx,
      platforms: platforms.split(",").map((p) => ({ os: "linux", architecture: p.split("/")[1]! })),
      output: { type: "oci", store },
    });
    return { ms: performance.now() - t0, cpuMs: (await daemonCpuMs(daemon.pid)) - cpu0 };
  };
  const buildctl = () => daemon.build({ context: ctx, platforms, dest: join(work, `out-${++seq}.tar`) });
  const bin = new URL("../bin/polyarch.mjs", import.meta.url).pathname;
  const cliEnv = {
    ...process.env,
    XDG_CONFIG_HOME: join(work, "config"),
    POLYARCH_ROOT: join(work, "cli-state"),
    DOCKER_CONFIG: join(work, "docker"),
  };
  const run = (args: string[]) => promisify(execFile)(process.execPath, [bin, ...args], { env: cliEnv });
  await run(["create", "--name", "bench", "--node", "bk", daemon.address]);
  const cli = async () => {
    const cpu0 = await daemonCpuMs(daemon.pid);
    const t0 = performance.now();
    await run([
      "build",
      "--builder",
      "bench",
      "--progress",
      "quiet",
      "--platform",
      platforms,
      "-o",
      `type=oci,dest=${join(work, `cli-${++seq}.tar`)}`,
      ctx,
    ]);
    return { ms: performance.now() - t0, cpuMs: (await daemonCpuMs(daemon.pid)) - cpu0 };
  };
  // One untimed build each so both clients' first-call costs (module load, TLS-free dial) are paid.
  await polyarch();
  await buildctl();
  await cli();
  const rows: string[] = [];
  for (const c of ["cold", "cached"] as const) {
    const ours: number[] = [];
    const theirs: number[] = [];
    const viaCli: number[] = [];
    const ourCpu: number[] = [];
    const theirCpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      const order = i % 2 === 0 ? [polyarch, buildctl, cli] : [cli, buildctl, polyarch];
      for (const side of order) {
        if (c === "cold") await daemon.prune();
        const t = await side();
        if (side === cli) {
          viaCli.push(t.ms);
          continue;
        }
        (side === polyarch ? ours : theirs).push(t.ms);
        (side === polyarch ? ourCpu : theirCpu).push(t.cpuMs);
      }
    }
    const p = median(ours);
    const b = median(theirs);
    const v = median(viaCli);
    rows.push(
      `| small 2-platform, ${c} | ${p.toFixed(0)} ms | ${b.toFixed(0)} ms | ${(p / b).toFixed(2)}× | ` +
        `${median(ourCpu).toFixed(0)} / ${median(theirCpu).toFixed(0)} ms | ${v.toFixed(0)} ms (${(v / b).toFixed(2)}×) |`,
    );
  }
  console.log(`runs per case: ${runs}`);
  console.log(
    "| build | polyarch client → buildkitd | buildctl → buildkitd | ratio | daemon CPU (ours / theirs) | polyarch CLI (remote driver) → buildkitd |",
  );
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const r of rows) console.log(r);
} finally {
  await daemon.stop();
  await reg.stop();
}
