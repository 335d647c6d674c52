// --cache-to type=local / --cache-from type=local through the CLI: a cache written on one state dir makes a
// build on an empty one all CACHED with the same image; a damaged cache blob is a warning and a rebuild of
// that step; a cache written for two platforms one at a time holds both.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { polyarch } from "../../support/cli.ts";

let reg: TestRegistry;
let base: string;
let dir: string;
let seq = 0;
before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
  dir = await mkdtemp(join(tmpdir(), "polyarch-cache-local-"));
});
after(async () => {
  await reg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function context(): Promise<string> {
  const ctx = await mkdtemp(join(dir, "ctx-"));
  await writeFile(join(ctx, "a.txt"), "alpha\n");
  await writeFile(
    join(ctx, "Dockerfile"),
    `FROM ${base}\nARG TARGETARCH\nCOPY a.txt /a.txt\nRUN echo "built for $TARGETARCH" > /b.txt\n`,
  );
  return ctx;
}

interface Built {
  output: string;
  digest: string;
  /** Per platform architecture: its manifest's layer digests. */
  layers: Map<string, string[]>;
}

/** Builds on a new, empty state dir to an OCI layout directory. */
async function build(ctx: string, platforms: string, cacheFlags: string[]): Promise<Built> {
  const n = ++seq;
  const out = join(dir, `out-${n}`);
  const meta = join(dir, `meta-${n}.json`);
  const r = await polyarch(
    [
      "build",
      "--progress=plain",
      "--platform",
      platforms,
      "-o",
      `type=oci,dest=${out},tar=false`,
      "--metadata-file",
      meta,
      ...cacheFlags,
      ctx,
    ],
    { env: { POLYARCH_ROOT: join(dir, `state-${n}`) } },
  );
  assert.equal(r.code, 0, r.stderr);
  const json = async (digest: string) =>
    JSON.parse(await readFile(join(out, "blobs", ...digest.split(":")), "utf8")) as Record<string, unknown>;
  const top = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as {
    manifests: { digest: string }[];
  };
  const first = await json(top.manifests[0]!.digest);
  // One platform: index.json names its manifest; several: an index of them.
  const entries =
    "manifests" in first
      ? (first.manifests as { digest: string; platform: { architecture: string } }[]).map((m) => ({
          digest: m.digest,
          arch: m.platform.architecture,
        }))
      : [{ digest: top.manifests[0]!.digest, arch: platforms.split("/")[1]! }];
  const layers = new Map<string, string[]>();
  for (const m of entries) {
    const manifest = (await json(m.digest)) as { layers: { digest: string }[] };
    layers.set(
      m.arch,
      manifest.layers.map((l) => l.digest),
    );
  }
  const digest = (JSON.parse(await readFile(meta, "utf8")) as Record<string, string>)[
    "containerimage.digest"
  ]!;
  return { output: r.stderr + r.stdout, digest, layers };
}

/** Every platform's summary line says all its steps were cached: nothing ran. */
function assertAllCached(output: string): void {
  const lines = output.split("\n").filter((l) => /^linux\/\w+\s+\d+ steps/.test(l));
  assert.ok(lines.length > 0, output);
  for (const l of lines) assert.match(l, /(\d+) steps \(\1 cached\)/, output);
}

const quote = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A step's plain progress block says CACHED, from `cache`. */
function cachedFrom(step: string, cache: string): RegExp {
  return new RegExp(`${quote(step)}[^\\n]*\\n#\\d+ CACHED \\(from type=local,src=${quote(cache)}\\)`);
}

test("a cache written on one state dir makes a build on an empty one all CACHED, with the same image", async () => {
  const ctx = await context();
  const cache = join(dir, "cache-1");
  const a = await build(ctx, "linux/amd64", ["--cache-to", `type=local,dest=${cache}`]);
  const b = await build(ctx, "linux/amd64", ["--cache-from", `type=local,src=${cache}`]);
  for (const step of ["COPY a.txt", "RUN echo"])
    assert.match(b.output, cachedFrom(step, cache), `${step} not CACHED from the imported cache`);
  assertAllCached(b.output);
  assert.equal(b.digest, a.digest);
});

test("a damaged blob in the cache is a warning and a rebuild of that step, never a wrong image", async () => {
  const ctx = await context();
  const cache = join(dir, "cache-2");
  const a = await build(ctx, "linux/amd64", ["--cache-to", `type=local,dest=${cache}`]);
  // The COPY layer (the one before the RUN's) gets other bytes of the same length.
  const copyLayer = a.layers.get("amd64")!.at(-2)!;
  const file = join(cache, "blobs", ...copyLayer.split(":"));
  const bytes = await readFile(file);
  bytes[bytes.length - 10]! ^= 0xff;
  await writeFile(file, bytes);
  const b = await build(ctx, "linux/amd64", ["--cache-from", `type=local,src=${cache}`]);
  assert.match(
    b.output,
    new RegExp(`cache-from type=local,src=${quote(cache)}: layer ${copyLayer} could not be used`),
  );
  assert.doesNotMatch(b.output, /COPY a\.txt[^\n]*\n#\d+ CACHED/, "the damaged step was not rebuilt");
  // The step was made again, to the same layer: the image's layers are the first build's.
  assert.deepEqual(b.layers, a.layers);
});

test("two platforms exported one at a time are both in the cache; a build of one hits on a fresh state dir", async () => {
  const ctx = await context();
  const cache = join(dir, "cache-3");
  await build(ctx, "linux/amd64", ["--cache-to", `type=local,dest=${cache}`]);
  const arm = await build(ctx, "linux/arm64", ["--cache-to", `type=local,dest=${cache}`]);
  const top = JSON.parse(await readFile(join(cache, "index.json"), "utf8")) as {
    manifests: { digest: string }[];
  };
  const index = JSON.parse(
    await readFile(join(cache, "blobs", ...top.manifests[0]!.digest.split(":")), "utf8"),
  ) as {
    manifests: { platform: { architecture: string } }[];
  };
  assert.deepEqual(index.manifests.map((m) => m.platform.architecture).sort(), ["amd64", "arm64"]);
  const both = await build(ctx, "linux/amd64,linux/arm64", ["--cache-from", `type=local,src=${cache}`]);
  assertAllCached(both.output);
  const one = await build(ctx, "linux/arm64", ["--cache-from", `type=local,src=${cache}`]);
  assertAllCached(one.output);
  assert.equal(one.digest, arm.digest);
});
