// Layer export: polyarch's differ + tar writer + gzip + both digests, on ~300 MB of mixed files, beside
// `tar -c | gzip` (and `pigz` when installed) of the same directory measured in the same run. Also two
// layers exported at once, beside two `tar | gzip` pipelines at once. Every figure comes from a separate
// process, so peak RSS is that process's own. Target (issue 4): layer export >= 0.8 x gzip's throughput
// times the cores it used; memory low (nothing is buffered whole).
//
//   node bench/layer-export.ts [--size-mb 300] [--level 6] [--runs 1] [--keep]
// With --runs N the contenders run interleaved N times and each row shows its median-wall run.
import { execFileSync, spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { exportLayer, exportLayers } from "../src/worker/layer/export-layer.ts";

const { values } = parseArgs({
  options: {
    "size-mb": { type: "string", default: "300" },
    level: { type: "string", default: "6" },
    keep: { type: "boolean", default: false },
    runs: { type: "string", default: "1" },
    child: { type: "string" },
    dirs: { type: "string" },
  },
});
const level = Number(values.level);

interface Measure {
  wallS: number;
  cpuS: number;
  rssMB: number;
}

/** Child mode: export the given directories (one layer each, concurrently) to /dev/null and report. */
async function child(dirs: string[]): Promise<void> {
  const start = performance.now();
  const jobs = dirs.map((upper) => ({
    upper,
    upperKind: "tree" as const,
    level,
    sink: () => createWriteStream("/dev/null"),
  }));
  const results = dirs.length === 1 ? [await exportLayer(jobs[0]!)] : await exportLayers(jobs);
  const wallS = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage();
  const bytes = results.reduce((n, r) => n + (r.empty ? 0 : r.uncompressedSize), 0);
  const out = results.reduce((n, r) => n + (r.empty ? 0 : r.descriptor.size), 0);
  const rssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ wallS, cpuS: (cpu.user + cpu.system) / 1e6, rssMB, bytes, out }));
}

if (values.child !== undefined) {
  await child((values.dirs ?? "").split(","));
  process.exit(0);
}

/** A small deterministic PRNG, so that every run compresses the same bytes. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const words =
  "the quick brown fox jumps over lazy dog layer image build cache manifest index platform arm64 amd64 function return const let import export".split(
    " ",
  );

/** Mixed content: a third random (incompressible), half text-like, the rest runs of zeros. */
function generate(root: string, totalBytes: number, seed: number): void {
  const rand = prng(seed);
  let written = 0;
  let n = 0;
  while (written < totalBytes) {
    const dir = join(root, `d${n % 23}`, `s${n % 7}`);
    mkdirSync(dir, { recursive: true });
    const r = rand();
    // Sizes: many small files, some medium, a few large, as in a real rootfs.
    const size =
      r < 0.85 ? Math.floor(rand() * 48_000) : r < 0.98 ? Math.floor(rand() * 3_000_000) : 25_000_000;
    const kind = rand();
    let data: Buffer;
    if (kind < 0.33) {
      data = Buffer.alloc(size);
      // Buffer.alloc never hands out a pooled slice, so the memory is aligned for 32-bit writes.
      const cells = new Uint32Array(data.buffer, data.byteOffset, size >> 2);
      for (let i = 0; i < cells.length; i++) cells[i] = Math.floor(rand() * 4294967296);
    } else if (kind < 0.83) {
      const parts: string[] = [];
      let len = 0;
      while (len < size) {
        const w = `${words[Math.floor(rand() * words.length)]}${rand() < 0.1 ? `${Math.floor(rand() * 1e6)}\n` : " "}`;
        parts.push(w);
        len += w.length;
      }
      data = Buffer.from(parts.join("")).subarray(0, size);
    } else data = Buffer.alloc(size);
    writeFileSync(join(dir, `f${n}`), data);
    written += size;
    n++;
  }
}

function timed(command: string): Measure {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S %M", "sh", "-c", command], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${command}: ${r.stderr}`);
  const [wall, user, sys, rss] = r.stderr.trim().split("\n").pop()!.split(" ").map(Number);
  return { wallS: wall!, cpuS: user! + sys!, rssMB: rss! / 1024 };
}

function ours(dirs: string[]): Measure & { bytes: number; out: number } {
  const stdout = execFileSync(
    process.execPath,
    [import.meta.filename, "--child", "x", "--dirs", dirs.join(","), "--level", String(level)],
    { encoding: "utf8", maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout);
}

function hasCommand(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
}

const root = join(tmpdir(), `polyarch-bench-layer-${values["size-mb"]}`);
const halves = [join(root, "a"), join(root, "b")];
if (!existsSync(join(root, ".done"))) {
  rmSync(root, { recursive: true, force: true });
  const half = (Number(values["size-mb"]) * 1024 * 1024) / 2;
  generate(halves[0]!, half, 1);
  generate(halves[1]!, half, 2);
  writeFileSync(join(root, ".done"), "");
}
// Warm the page cache so that every contender reads from memory.
execFileSync("sh", ["-c", `tar -C ${root} -cf - a b > /dev/null`]);

const cores = Number(execFileSync("nproc", { encoding: "utf8" }).trim());
type Row = Measure & { bytes?: number; out?: number };
const contenders: Array<[string, () => Row]> = [
  ["polyarch export (1 layer)", () => ours([root])],
  [`tar | gzip -${level}`, () => timed(`tar -C ${root} -cf - a b | gzip -${level} > /dev/null`)],
];
if (hasCommand("pigz")) {
  contenders.push([
    `tar | pigz -${level} (${cores} threads)`,
    () => timed(`tar -C ${root} -cf - a b | pigz -${level} -p ${cores} > /dev/null`),
  ]);
}
contenders.push(["polyarch export (2 layers at once)", () => ours(halves)]);
contenders.push([
  `2 x (tar | gzip -${level}) at once`,
  () =>
    timed(
      `(tar -C ${root} -cf - a | gzip -${level} > /dev/null) & (tar -C ${root} -cf - b | gzip -${level} > /dev/null) & wait`,
    ),
]);
const samples = contenders.map((): Row[] => []);
for (let run = 0; run < Number(values.runs); run++) {
  for (const [i, [, measure]] of contenders.entries()) samples[i]!.push(measure());
}
const rows: Array<[string, Row]> = contenders.map(([name], i) => {
  const sorted = [...samples[i]!].sort((x, y) => x.wallS - y.wallS);
  return [name, sorted[Math.floor((sorted.length - 1) / 2)]!];
});
const single = rows[0]![1] as Row & { bytes: number; out: number };
const mb = single.bytes / 1e6;
const gzip = rows[1]![1];
const gzipRate = mb / gzip.wallS;
console.log(`layer export: ${mb.toFixed(0)} MB uncompressed tar, gzip level ${level}, ${cores} cores\n`);
console.log("| what | wall s | MB/s | cores used | peak RSS MB | vs gzip x cores |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const [name, m] of rows) {
  const rate = mb / m.wallS;
  const used = m.cpuS / m.wallS;
  const target = rate / (gzipRate * Math.max(1, used));
  console.log(
    `| ${name} | ${m.wallS.toFixed(2)} | ${rate.toFixed(1)} | ${used.toFixed(2)} | ${m.rssMB.toFixed(0)} | ${target.toFixed(2)} |`,
  );
}
console.log(
  `\ncompressed: ${(single.out / 1e6).toFixed(1)} MB; target: "vs gzip x cores" >= 0.8 for polyarch rows`,
);
if (!values.keep) rmSync(root, { recursive: true, force: true });
