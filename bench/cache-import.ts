// A fresh CI machine rebuilding from a registry cache, polyarch beside BuildKit v0.24.0 in the same run.
// Each tool first seeds its own cache ref with mode=max (not timed); then, per run, it starts from nothing
// (polyarch: an empty state dir; BuildKit: `buildctl prune --all`, not timed) and rebuilds from the cache
// (`--cache-from type=registry,ref=…` / `--import-cache type=registry,ref=…`) to an OCI archive. Runs are
// interleaved; the medians of wall time and of blob bytes pulled (counted by a proxy in front of the
// registry, base image included) are printed with their ratio (polyarch / BuildKit).
//
//   node bench/cache-import.ts [--runs 5] [--only cross,go]         (after scripts/setup, as root)
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pushBusyboxImage } from "../test/harness/images.ts";
import { startRegistry } from "../test/harness/registry.ts";
import { startBuildKitDaemon } from "./lib/buildkit.ts";
import { startCountingProxy } from "./lib/counting-proxy.ts";
import { runPolyarch } from "./lib/polyarch-cli.ts";

const repo = new URL("../", import.meta.url).pathname;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Two stages as a Go build has them: a module download and a compile; the image keeps only the binary. */
async function goContext(dir: string, registry: string): Promise<string> {
  const ctx = join(dir, "go");
  await mkdir(join(ctx, "cmd"), { recursive: true });
  await writeFile(join(ctx, "go.mod"), "module example.com/app\n\ngo 1.22\n");
  await writeFile(join(ctx, "cmd", "main.go"), 'package main\n\nfunc main() { println("hello") }\n');
  await writeFile(
    join(ctx, "Dockerfile"),
    [
      `FROM ${registry}/library/busybox:latest AS build`,
      "WORKDIR /src",
      "COPY go.mod ./",
      // The module cache: big, needed by the compile, never by the image.
      "RUN mkdir -p /go/pkg/mod && head -c 24000000 /dev/urandom > /go/pkg/mod/deps.a",
      "COPY cmd/ ./cmd/",
      "RUN cat /go/pkg/mod/deps.a cmd/main.go | head -c 6000000 > /app && chmod 755 /app",
      `FROM ${registry}/library/busybox:latest`,
      "COPY --from=build /app /usr/local/bin/app",
      'CMD ["/usr/local/bin/app"]',
      "",
    ].join("\n"),
  );
  return ctx;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: "5" }, only: { type: "string", default: "cross,go" } },
  });
  const runs = Number(values.runs);
  const only = new Set(values.only!.split(","));
  const work = await mkdtemp(join(tmpdir(), "polyarch-bench-cache-"));
  const reg = await startRegistry();
  const proxy = await startCountingProxy(reg.url);
  await pushBusyboxImage(reg);
  const kit = await startBuildKitDaemon(proxy.host);
  const rows: string[] = [];
  try {
    const workloads: {
      id: string;
      name: string;
      ctx: string;
      platforms: string;
      args: Record<string, string>;
    }[] = [];
    if (only.has("cross")) {
      const ctx = join(work, "cross");
      await cp(join(repo, "examples/cross-compile"), ctx, { recursive: true });
      // No `# syntax=` line: BuildKit would fetch that frontend image from Docker Hub (unreachable here).
      const dockerfile = join(ctx, "Dockerfile");
      await writeFile(dockerfile, (await readFile(dockerfile, "utf8")).replace(/^# syntax=.*\n/, ""));
      workloads.push({
        id: "cross",
        name: "examples/cross-compile, 3 platforms",
        ctx,
        platforms: "linux/amd64,linux/arm64,linux/arm/v7",
        args: { REGISTRY: proxy.host },
      });
    }
    if (only.has("go")) {
      workloads.push({
        id: "go",
        name: "2-stage Go-style build, linux/amd64",
        ctx: await goContext(work, proxy.host),
        platforms: "linux/amd64",
        args: {},
      });
    }
    let n = 0;
    const polyarch = async (w: (typeof workloads)[0], cache: string[]) => {
      const state = join(work, `state-${++n}`);
      const out = join(work, `out-${n}.tar`);
      const before = proxy.blobBytes();
      const buildArgs = Object.entries(w.args).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
      const s = await runPolyarch(
        [
          "build",
          "--progress=quiet",
          "--platform",
          w.platforms,
          ...buildArgs,
          ...cache,
          "-o",
          `type=oci,dest=${out}`,
          w.ctx,
        ],
        { ...process.env, POLYARCH_ROOT: state },
      );
      const pulled = proxy.blobBytes() - before;
      await rm(state, { recursive: true, force: true });
      await rm(out, { force: true });
      return { ms: s.ms, pulled };
    };
    const buildkit = async (
      w: (typeof workloads)[0],
      cache: { importCache?: string[]; exportCache?: string[] },
    ) => {
      await kit.prune();
      const out = join(work, `bk-${++n}.tar`);
      const before = proxy.blobBytes();
      const t = await kit.build({
        context: w.ctx,
        platforms: w.platforms,
        dest: out,
        buildArgs: w.args,
        ...cache,
      });
      const pulled = proxy.blobBytes() - before;
      await rm(out, { force: true });
      return { ms: t.ms, pulled };
    };
    for (const w of workloads) {
      const pRef = `${proxy.host}/bench/${w.id}:polyarch`;
      const bRef = `${proxy.host}/bench/${w.id}:buildkit`;
      await polyarch(w, ["--cache-to", `type=registry,ref=${pRef},mode=max`]);
      await buildkit(w, { exportCache: [`type=registry,ref=${bRef},mode=max`] });
      const p: { ms: number; pulled: number }[] = [];
      const b: { ms: number; pulled: number }[] = [];
      for (let i = 0; i < runs; i++) {
        p.push(await polyarch(w, ["--cache-from", `type=registry,ref=${pRef}`]));
        b.push(await buildkit(w, { importCache: [`type=registry,ref=${bRef}`] }));
      }
      const pm = median(p.map((x) => x.ms));
      const bm = median(b.map((x) => x.ms));
      const pb = median(p.map((x) => x.pulled));
      const bb = median(b.map((x) => x.pulled));
      rows.push(
        `| ${w.name} | ${(pm / 1000).toFixed(2)} s | ${(bm / 1000).toFixed(2)} s | ${(pm / bm).toFixed(2)}× | ${(pb / 1e6).toFixed(2)} MB | ${(bb / 1e6).toFixed(2)} MB |`,
      );
      console.error(rows.at(-1));
    }
  } finally {
    await kit.stop();
    await proxy.stop();
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  }
  console.log(
    `fresh-machine rebuild from a registry cache (mode=max), ${runs} runs each, median; load ${loadavg()[0]!.toFixed(1)}`,
  );
  console.log("| workload | polyarch | BuildKit | ratio | polyarch pulled | BuildKit pulled |");
  console.log("|---|---|---|---|---|---|");
  for (const r of rows) console.log(r);
}

await main();
