// Every build workload of issue 9, polyarch beside a warm BuildKit v0.24.0 (buildkitd + buildctl) in the
// same run: the same Dockerfile, the same generated context, the same platforms, an OCI archive out.
// Runs are interleaved (polyarch, BuildKit, polyarch, …) so load from elsewhere hits both alike; medians
// are printed with their ratio (polyarch / BuildKit wall time; < 1 means polyarch is faster).
//
//   node bench/versus-buildkit.ts [--runs 7] [--big-runs 3] [--big-files 20000] [--big-mb 400]
//                                 [--only small,cross,big]              (after scripts/setup, as root)
//
// Cold: polyarch gets a fresh state root, BuildKit a `buildctl prune --all` (not timed); both pull the
// base again. polyarch's time includes process start; BuildKit's is the client's wall clock against a
// daemon that is already up. CPU: polyarch's process tree; the daemon's (children included) for BuildKit.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pushBusyboxImage } from "../test/harness/images.ts";
import { startRegistry } from "../test/harness/registry.ts";
import { type BuildKitDaemon, startBuildKitDaemon } from "./lib/buildkit.ts";
import { runPolyarch } from "./lib/polyarch-cli.ts";

interface Workload {
  /** File names of its state and outputs. */
  id: string;
  name: string;
  platforms: string;
  context: string;
  runs: number;
  cases: Case[];
}

interface Case {
  label: string;
  /** Fresh state (polyarch) / pruned cache (BuildKit) before each run. */
  cold?: boolean;
  noCache?: boolean;
  /** Called before each run of either side (e.g. to change one source file). */
  before?: () => Promise<void>;
  /** Report output size and polyarch's peak RSS. */
  sizes?: boolean;
}

interface Row {
  what: string;
  polyarch: number;
  buildkit: number;
  polyarchCpu: number;
  buildkitCpu: number;
  extra: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const path = join(root, name);
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, content);
  }
}

/** Two stages on busybox, two RUN steps, the non-RUN steps a small app has (WORKDIR, COPY of a few files). */
async function smallContext(dir: string): Promise<string> {
  const ctx = join(dir, "small");
  await writeTree(ctx, {
    Dockerfile: [
      "ARG BASE",
      "FROM $BASE AS build",
      "WORKDIR /src",
      "COPY app/ ./",
      "RUN sh ./build.sh > /out.txt",
      "FROM $BASE",
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
  });
  return ctx;
}

/** Go-style cross-compile: the builder runs on the build platform for every target, with a cache mount. */
async function crossContext(dir: string): Promise<{ ctx: string; touch: () => Promise<void> }> {
  const ctx = join(dir, "cross");
  const sources: Record<string, string> = {};
  for (let i = 0; i < 50; i++)
    sources[`src/unit${i}.c`] = `/* unit ${i} */\nint f${i}(int x) { return x * ${i} + TARGET; }\n`.repeat(
      40,
    );
  await writeTree(ctx, {
    Dockerfile: [
      "ARG BASE",
      "FROM --platform=$BUILDPLATFORM $BASE AS builder",
      "WORKDIR /src",
      "COPY src/ ./",
      // Like `go mod download`: identical for every target, so it runs once.
      "RUN --mount=type=cache,target=/cache cat *.c | md5sum > /cache/deps && cp /cache/deps deps.txt",
      "ARG TARGETARCH",
      // The "compiler": one pass over every source per target, on the build machine's CPU.
      'RUN --mount=type=cache,target=/cache mkdir -p /out && for f in *.c; do sed "s/TARGET/$TARGETARCH/g" "$f" | md5sum; done > /out/app && cat deps.txt >> /out/app',
      "FROM $BASE",
      "COPY --from=builder /out/app /usr/local/bin/app",
      "",
    ].join("\n"),
    ...sources,
  });
  let seq = 0;
  const touch = () =>
    writeFile(join(ctx, "src/unit7.c"), `/* change ${++seq} */\nint f7(int x) { return x; }\n`);
  return { ctx, touch };
}

/** `files` files of `mb` MB in all, half random and half text (so gzip has something to do), in 100 dirs. */
async function bigContext(dir: string, files: number, mb: number): Promise<string> {
  const ctx = join(dir, "big");
  await writeTree(ctx, {
    Dockerfile: "ARG BASE\nFROM $BASE\nCOPY data/ /data/\nRUN find /data -type f | wc -l > /count.txt\n",
  });
  const each = Math.max(1, Math.floor((mb * 1024 * 1024) / files));
  const text = Buffer.from("the quick brown fox jumps over the lazy dog 0123456789\n".repeat(each / 50 + 1));
  for (let d = 0; d < 100; d++) await mkdir(join(ctx, "data", `d${d}`), { recursive: true });
  for (let i = 0; i < files; i++) {
    const half = Math.floor(each / 2);
    const body = Buffer.concat([randomBytes(half), text.subarray(0, each - half)]);
    await writeFile(join(ctx, "data", `d${i % 100}`, `f${i}.bin`), body);
  }
  return ctx;
}

async function measureWorkload(
  w: Workload,
  bk: BuildKitDaemon,
  base: string,
  work: string,
  log: (s: string) => void,
): Promise<Row[]> {
  const rows: Row[] = [];
  const state = join(work, `state-${w.id}`);
  const ours = join(work, `${w.id}-polyarch.tar`);
  const theirs = join(work, `${w.id}-buildkit.tar`);
  const env = { ...process.env, POLYARCH_ROOT: state };
  const polyarchArgs = (noCache: boolean) => [
    "build",
    "--progress=quiet",
    "--platform",
    w.platforms,
    "--build-arg",
    `BASE=${base}`,
    ...(noCache ? ["--no-cache"] : []),
    "-o",
    `type=oci,dest=${ours}`,
    w.context,
  ];
  const bkBuild = (noCache: boolean) =>
    bk.build({
      context: w.context,
      platforms: w.platforms,
      dest: theirs,
      noCache,
      buildArgs: { BASE: base },
    });
  for (const c of w.cases) {
    if (!c.cold) {
      // Warm both sides up to the state the case starts from.
      await runPolyarch(polyarchArgs(false), env);
      await bkBuild(false);
    }
    const a: { ms: number; cpu: number; rss: number }[] = [];
    const b: { ms: number; cpu: number }[] = [];
    for (let i = 0; i < w.runs; i++) {
      await c.before?.();
      if (c.cold) await rm(state, { recursive: true, force: true });
      const p = await runPolyarch(polyarchArgs(c.noCache ?? false), env);
      a.push({ ms: p.ms, cpu: p.cpuMs, rss: p.peakRssMb });
      await c.before?.();
      if (c.cold) await bk.prune();
      const k = await bkBuild(c.noCache ?? false);
      b.push({ ms: k.ms, cpu: k.cpuMs });
      log(
        `  ${w.id} ${c.label} #${i + 1}: polyarch ${p.ms.toFixed(0)} ms, BuildKit ${k.ms.toFixed(0)} ms (load ${loadavg()[0]!.toFixed(1)})`,
      );
    }
    let extra = "";
    if (c.sizes) {
      const [os, bs] = [(await stat(ours)).size, (await stat(theirs)).size];
      extra = `out ${(os / 1e6).toFixed(0)} / ${(bs / 1e6).toFixed(0)} MB; peak RSS ${Math.max(...a.map((x) => x.rss)).toFixed(0)} MB`;
    }
    rows.push({
      what: `${w.name}, ${c.label}`,
      polyarch: median(a.map((x) => x.ms)),
      buildkit: median(b.map((x) => x.ms)),
      polyarchCpu: median(a.map((x) => x.cpu)),
      buildkitCpu: median(b.map((x) => x.cpu)),
      extra,
    });
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "7" },
      "big-runs": { type: "string", default: "3" },
      "big-files": { type: "string", default: "20000" },
      "big-mb": { type: "string", default: "400" },
      only: { type: "string", default: "small,cross,big" },
    },
  });
  const only = new Set(values.only.split(","));
  const runs = Number(values.runs);
  const work = await mkdtemp(join(tmpdir(), "polyarch-bench-vs-buildkit-"));
  const reg = await startRegistry();
  let bk: BuildKitDaemon | undefined;
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const loads: number[] = [];
  try {
    const base = (await pushBusyboxImage(reg)).ref;
    bk = await startBuildKitDaemon(reg.host);
    const workloads: Workload[] = [];
    if (only.has("small"))
      workloads.push({
        id: "small",
        name: "small 2-stage, 2 platforms",
        platforms: "linux/amd64,linux/arm64",
        context: await smallContext(work),
        runs,
        cases: [
          { label: "cold", cold: true },
          { label: "--no-cache", noCache: true },
          { label: "fully cached" },
        ],
      });
    if (only.has("cross")) {
      const cross = await crossContext(work);
      workloads.push({
        id: "cross",
        name: "cross-compile, 3 platforms",
        platforms: "linux/amd64,linux/arm64,linux/arm/v7",
        context: cross.ctx,
        runs,
        cases: [
          { label: "cold", cold: true },
          { label: "cached" },
          { label: "one source file changed", before: cross.touch },
        ],
      });
    }
    if (only.has("big")) {
      const files = Number(values["big-files"]);
      const mb = Number(values["big-mb"]);
      log(`generating a ${files}-file, ${mb} MB context…`);
      workloads.push({
        id: "big",
        name: `COPY of ${files} files / ${mb} MB, 2 platforms`,
        platforms: "linux/amd64,linux/arm64",
        context: await bigContext(work, files, mb),
        runs: Number(values["big-runs"]),
        cases: [
          { label: "cold", cold: true, sizes: true },
          { label: "nothing changed", sizes: true },
        ],
      });
    }
    const rows: Row[] = [];
    for (const w of workloads) {
      loads.push(loadavg()[0]!);
      rows.push(...(await measureWorkload(w, bk, base, work, log)));
      loads.push(loadavg()[0]!);
    }
    const header = ["workload", "polyarch", "BuildKit", "ratio", "CPU polyarch / BuildKit", "notes"];
    const table = rows.map((r) => [
      r.what,
      `${(r.polyarch / 1000).toFixed(2)} s`,
      `${(r.buildkit / 1000).toFixed(2)} s`,
      (r.polyarch / r.buildkit).toFixed(2),
      `${(r.polyarchCpu / 1000).toFixed(2)} / ${(r.buildkitCpu / 1000).toFixed(2)} s`,
      r.extra,
    ]);
    console.log(
      `polyarch vs BuildKit v0.24.0, medians of interleaved runs (ratio = polyarch / BuildKit wall time)`,
    );
    console.log(`| ${header.join(" | ")} |`);
    console.log(`|${header.map(() => " --- ").join("|")}|`);
    for (const r of table) console.log(`| ${r.join(" | ")} |`);
    console.log(
      `load average (1 min) during the run: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
    );
  } finally {
    await bk?.stop();
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
