// Push and pull of a ~200 MB two-platform image against a local registry (Debian's distribution), each
// beside `skopeo copy` of the same image measured in the same run. Our side runs in a child process so its
// peak RSS is its own. Targets (issue 2): ratio to skopeo <= 1.0, unchanged re-push <= 0.2 s, peak RSS <= 150 MB.
//
//   node bench/registry-transfer.ts [--mb-per-platform 100] [--runs 3]
import { execFile } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { build } from "esbuild";
import { openContentStore } from "../src/content/index.ts";
import type { Descriptor } from "../src/oci/descriptor.ts";
import { type Digest, parseDigest } from "../src/oci/digest.ts";
import { largeImageLayout } from "../test/harness/images.ts";
import { startRegistry } from "../test/harness/registry.ts";

let childBundle: Promise<string> | undefined;

/** The child runs bundled JavaScript, as the shipped CLI does (type stripping alone costs ~60 MB of RSS). */
function bundledChild(): Promise<string> {
  childBundle ??= (async () => {
    const out = join(await mkdtemp(join(tmpdir(), "polyarch-bench-child-")), "transfer-child.mjs");
    await build({
      entryPoints: [new URL("./lib/transfer-child.ts", import.meta.url).pathname],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: out,
      logLevel: "warning",
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
    });
    return out;
  })();
  return childBundle;
}

// Asynchronous on purpose: the registry's log pipe is drained by this process's event loop, and a blocked
// loop would stall the registry once that pipe fills.
const execFileAsync = promisify(execFile);

async function runChild(
  op: string,
  storeDir: string,
  arg: string,
  ref: string,
): Promise<{ ms: number; maxRssMb: number }> {
  const { stdout } = await execFileAsync(process.execPath, [await bundledChild(), op, storeDir, arg, ref], {
    encoding: "utf8",
  });
  return JSON.parse(stdout) as { ms: number; maxRssMb: number };
}

async function timeCommand(cmd: string, args: string[]): Promise<number> {
  const start = performance.now();
  await execFileAsync(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
  return performance.now() - start;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function importLayout(layoutDir: string, storeDir: string): Promise<Descriptor> {
  const store = await openContentStore(storeDir);
  const blobDir = join(layoutDir, "blobs", "sha256");
  for (const hex of await readdir(blobDir)) {
    await store.write(
      { digest: parseDigest(`sha256:${hex}`) as Digest },
      createReadStream(join(blobDir, hex)),
    );
  }
  const index = JSON.parse(await readFile(join(layoutDir, "index.json"), "utf8")) as {
    manifests: Descriptor[];
  };
  const root = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === "latest");
  if (!root) throw new Error("layout has no 'latest'");
  return { mediaType: root.mediaType, digest: root.digest, size: root.size };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "mb-per-platform": { type: "string", default: "100" },
      runs: { type: "string", default: "3" },
    },
  });
  const mb = Number(values["mb-per-platform"]);
  const runs = Number(values.runs);
  const { dir: layoutDir } = await largeImageLayout({ megabytesPerPlatform: mb });
  const work = await mkdtemp(join(tmpdir(), "polyarch-bench-"));
  try {
    const seeded = join(work, "seed-store");
    const root = await importLayout(layoutDir, seeded);
    const t = {
      pushOurs: [] as number[],
      pushSkopeo: [] as number[],
      pullOurs: [] as number[],
      pullSkopeo: [] as number[],
    };
    const rss = { push: 0, pull: 0 };
    let repush = Number.POSITIVE_INFINITY;
    for (let i = 0; i < runs; i++) {
      // A fresh registry per run: skopeo keeps a blob-info cache across runs and would mount instead of
      // upload in a registry it has seen; a new port is a new registry to it. Who goes first alternates.
      const reg = await startRegistry();
      try {
        const pushOurs = async () => {
          const r = await runChild("push", seeded, JSON.stringify(root), reg.ref("ours/app:1"));
          t.pushOurs.push(r.ms);
          rss.push = Math.max(rss.push, r.maxRssMb);
        };
        const pushSkopeo = async () => {
          const args = [
            "copy",
            "--quiet",
            "--all",
            ...reg.skopeoFlags("dest"),
            `oci:${layoutDir}:latest`,
            `docker://${reg.ref("skopeo/app:1")}`,
          ];
          t.pushSkopeo.push(await timeCommand("skopeo", args));
        };
        if (i % 2 === 0) {
          await pushOurs();
          await pushSkopeo();
        } else {
          await pushSkopeo();
          await pushOurs();
        }
        repush = Math.min(
          repush,
          (await runChild("push", seeded, JSON.stringify(root), reg.ref("ours/app:1"))).ms,
        );

        const pullStore = join(work, `pull-${i}`);
        const skopeoDir = join(work, `skopeo-pull-${i}`);
        const pullOurs = async () => {
          const r = await runChild("pull", pullStore, "linux/amd64,linux/arm64", reg.ref("skopeo/app:1"));
          t.pullOurs.push(r.ms);
          rss.pull = Math.max(rss.pull, r.maxRssMb);
        };
        const pullSkopeo = async () => {
          const args = [
            "copy",
            "--quiet",
            "--all",
            ...reg.skopeoFlags("src"),
            `docker://${reg.ref("ours/app:1")}`,
            `oci:${skopeoDir}:x`,
          ];
          t.pullSkopeo.push(await timeCommand("skopeo", args));
        };
        if (i % 2 === 0) {
          await pullOurs();
          await pullSkopeo();
        } else {
          await pullSkopeo();
          await pullOurs();
        }
        await rm(pullStore, { recursive: true, force: true });
        await rm(skopeoDir, { recursive: true, force: true });
      } finally {
        await reg.stop();
      }
    }
    const mbTotal = 2 * mb;
    console.log(
      `registry transfer, 2 platforms x ${mb} MB incompressible, median of ${runs} runs (fresh registry per run)`,
    );
    console.log(
      "op     polyarch ms   skopeo ms   ratio  polyarch MB/s  peak RSS MB   targets: ratio <= 1.00, RSS <= 150",
    );
    const row = (op: string, ours: number, skopeo: number, peak: number) =>
      console.log(
        `${op.padEnd(6)} ${ours.toFixed(0).padStart(11)} ${skopeo.toFixed(0).padStart(11)} ${(ours / skopeo).toFixed(2).padStart(7)} ${(mbTotal / (ours / 1000)).toFixed(0).padStart(14)} ${peak.toFixed(0).padStart(12)}`,
      );
    row("push", median(t.pushOurs), median(t.pushSkopeo), rss.push);
    row("pull", median(t.pullOurs), median(t.pullSkopeo), rss.pull);
    console.log(
      `re-push of the unchanged image: ${(repush / 1000).toFixed(3)} s (target <= 0.2 s; every blob found by HEAD)`,
    );
    console.log(
      "skopeo's times include its process start; polyarch's are measured inside its process after start-up.",
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
