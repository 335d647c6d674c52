// Whole-CLI build figures from issue 4, each beside a baseline measured in the same run:
//   - `polyarch --version`                          vs `node -e 0` (bare process start)      target <= 80 ms
//   - fully cached rebuild of the 3-platform example vs `node -e 0`, including process start target <= 0.25 s
//   - building an image with a 500 MB layer: peak RSS of the polyarch process, and its time beside
//     `head -c 500M /dev/urandom | gzip` of the same size                                    target <= 300 MB
//
//   node bench/build.ts [--runs 15] [--big-mb 500]      (after scripts/setup, as root)
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pushBusyboxImage } from "../test/harness/images.ts";
import { startRegistry } from "../test/harness/registry.ts";

const repo = new URL("../", import.meta.url).pathname;
const bin = join(repo, "bin/polyarch.mjs");

interface Sample {
  ms: number;
  peakRssMb: number;
}

/** Runs a command to completion, sampling the process's resident set from /proc every 20 ms. */
function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    let peak = 0;
    const sample = async () => {
      try {
        const status = await readFile(`/proc/${child.pid}/status`, "utf8");
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
        if (hwm) peak = Math.max(peak, Number(hwm[1]) / 1024);
      } catch {
        // The process has exited.
      }
    };
    const timer = setInterval(sample, 20);
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(timer);
      const ms = performance.now() - start;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}\n${stderr}`));
      else resolve({ ms, peakRssMb: peak });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function repeat(runs: number, f: () => Promise<Sample>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) ms.push((await f()).ms);
  return median(ms);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: "15" }, "big-mb": { type: "string", default: "500" } },
  });
  const runs = Number(values.runs);
  const bigMb = Number(values["big-mb"]);
  await measure(process.execPath, [join(repo, "scripts/bundle.mjs")]);
  const work = await mkdtemp(join(tmpdir(), "polyarch-bench-build-"));
  const reg = await startRegistry();
  const env = { ...process.env, POLYARCH_ROOT: join(work, "state"), BUILDKIT_PROGRESS: "quiet" };
  try {
    await pushBusyboxImage(reg);
    const rows: string[][] = [];

    // Process start.
    const bare = await repeat(runs, () => measure(process.execPath, ["-e", "0"]));
    const version = await repeat(runs, () => measure(process.execPath, [bin, "--version"]));
    rows.push([
      "polyarch --version",
      `${version.toFixed(0)} ms`,
      `node -e 0: ${bare.toFixed(0)} ms`,
      `${(version / bare).toFixed(2)}x`,
      "<= 80 ms",
    ]);

    // Fully cached rebuild of the cross-compile example for three platforms.
    const example = join(repo, "examples/cross-compile");
    const buildArgs = [
      "build",
      "--platform",
      "linux/amd64,linux/arm64,linux/arm/v7",
      "--build-arg",
      `REGISTRY=${reg.host}`,
      "-o",
      `type=oci,dest=${join(work, "out.tar")}`,
      example,
    ];
    const first = await measure(process.execPath, [bin, ...buildArgs], env);
    const cached = await repeat(runs, () => measure(process.execPath, [bin, ...buildArgs], env));
    rows.push(["first build, 3 platforms", `${first.ms.toFixed(0)} ms`, "", "", ""]);
    rows.push([
      "fully cached rebuild, 3 platforms",
      `${cached.toFixed(0)} ms`,
      `node -e 0: ${bare.toFixed(0)} ms`,
      `${(cached / bare).toFixed(2)}x`,
      "<= 250 ms",
    ]);

    // A 500 MB layer: memory must not grow with the layer (everything streams).
    const bigDir = join(work, "big");
    await mkdir(bigDir, { recursive: true });
    await writeFile(
      join(bigDir, "Dockerfile"),
      `ARG REGISTRY\nFROM \${REGISTRY}/library/busybox:latest\nRUN head -c ${bigMb * 1024 * 1024} /dev/urandom > /big.bin\n`,
    );
    const big = await measure(
      process.execPath,
      [
        bin,
        "build",
        "--no-cache",
        "--build-arg",
        `REGISTRY=${reg.host}`,
        "-o",
        `type=oci,dest=${join(work, "big.tar")}`,
        bigDir,
      ],
      env,
    );
    await rm(join(work, "big.tar"), { force: true });
    const gzipBaseline = await measure("sh", [
      "-c",
      `head -c ${bigMb * 1024 * 1024} /dev/urandom | gzip -6 > /dev/null`,
    ]);
    rows.push([
      `build with a ${bigMb} MB layer`,
      `${big.ms.toFixed(0)} ms, peak RSS ${big.peakRssMb.toFixed(0)} MB`,
      `head|gzip of ${bigMb} MB: ${gzipBaseline.ms.toFixed(0)} ms`,
      `${(big.ms / gzipBaseline.ms).toFixed(2)}x`,
      "RSS <= 300 MB",
    ]);

    const widths = [0, 1, 2, 3, 4].map((i) =>
      Math.max(
        ...[["what", "polyarch", "baseline (same run)", "ratio", "target"], ...rows].map((r) => r[i]!.length),
      ),
    );
    const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ");
    console.log(`polyarch build benchmarks (median of ${runs} where repeated)`);
    console.log(line(["what", "polyarch", "baseline (same run)", "ratio", "target"]));
    for (const r of rows) console.log(line(r));
  } finally {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
