// --cache-to …,cache-mounts=true / --cache-from: what a build's RUN --mount=type=cache steps left in their
// cache travels with a type=local cache, so that a build on an empty state dir whose step cache misses
// starts with a warm cache mount; per platform, and by id.
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
  dir = await mkdtemp(join(tmpdir(), "polyarch-cache-mounts-"));
});
after(async () => {
  await reg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function context(dockerfile: string): Promise<string> {
  const ctx = await mkdtemp(join(dir, "ctx-"));
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  return ctx;
}

/**
 * Builds on the state dir `state` (a new one when not given) to a local directory, or to an OCI layout
 * with `oci` (when only the cache is of interest: a type=local output needs the steps' trees).
 */
async function build(
  ctx: string,
  platforms: string,
  flags: string[],
  { state = join(dir, `state-${++seq}`), oci = false }: { state?: string; oci?: boolean } = {},
): Promise<{ out: string; output: string }> {
  const out = join(dir, `out-${++seq}`);
  const output = oci ? `type=oci,dest=${out},tar=false` : `type=local,dest=${out}`;
  const r = await polyarch(
    ["build", "--progress=plain", "--platform", platforms, "-o", output, ...flags, ctx],
    { env: { POLYARCH_ROOT: state } },
  );
  assert.equal(r.code, 0, r.stderr + r.stdout);
  return { out, output: r.stderr + r.stdout };
}

interface IndexEntry {
  digest: string;
  artifactType?: string;
  platform?: { architecture: string };
  annotations?: Record<string, string>;
}

async function cacheIndex(cache: string): Promise<IndexEntry[]> {
  const top = JSON.parse(await readFile(join(cache, "index.json"), "utf8")) as {
    manifests: { digest: string }[];
  };
  const index = JSON.parse(
    await readFile(join(cache, "blobs", ...top.manifests[0]!.digest.split(":")), "utf8"),
  ) as { manifests: IndexEntry[] };
  return index.manifests;
}

const mountEntries = async (cache: string) =>
  (await cacheIndex(cache)).filter((m) => m.artifactType === "application/vnd.polyarch.cache-mount.v1");

test("a cache mount's contents reach a fresh state dir through --cache-from, though the step cache misses", async () => {
  const cache = join(dir, "cache-e");
  const first = await context(
    `FROM ${base}\nRUN --mount=type=cache,target=/root/.cache echo warm-from-build-1 > /root/.cache/seen && mkdir /out && echo one > /out/one\n`,
  );
  await build(first, "linux/amd64", ["--cache-to", `type=local,dest=${cache},cache-mounts=true`]);
  const entries = await mountEntries(cache);
  assert.deepEqual(
    entries.map((e) => [e.annotations?.["polyarch.cache-mount.id"], e.platform?.architecture]),
    [["/root/.cache", "amd64"]],
  );
  // A changed step (its cache misses) on an empty state dir reads the mount.
  const second = await context(
    `FROM ${base}\nRUN --mount=type=cache,target=/root/.cache mkdir /out && cat /root/.cache/seen > /out/seen\n`,
  );
  const b = await build(second, "linux/amd64", ["--cache-from", `type=local,src=${cache}`]);
  assert.equal(await readFile(join(b.out, "out", "seen"), "utf8"), "warm-from-build-1\n");
  assert.match(b.output, /restoring cache mount id=\/root\/\.cache from type=local,src=/);
  // Without the flag the cache carries no mounts, and a fresh state dir starts cold.
  const plain = join(dir, "cache-plain");
  await build(first, "linux/amd64", ["--cache-to", `type=local,dest=${plain}`]);
  assert.deepEqual(await mountEntries(plain), []);
});

test("cache mounts travel per platform, and a later export without them keeps them", async () => {
  const cache = join(dir, "cache-platforms");
  const write = await context(
    `FROM ${base}\nRUN --mount=type=cache,target=/c uname -m >> /c/arch && mkdir /out && echo w > /out/w\n`,
  );
  await build(write, "linux/amd64,linux/arm64", ["--cache-to", `type=local,dest=${cache},cache-mounts=true`]);
  const entries = await mountEntries(cache);
  assert.deepEqual(entries.map((e) => e.platform?.architecture).sort(), ["amd64", "arm64"]);
  // Exporting again without cache-mounts (a build that did not touch them) does not drop them.
  await build(write, "linux/amd64", ["--cache-to", `type=local,dest=${cache}`]);
  assert.equal((await mountEntries(cache)).length, 2);
  const read = await context(
    `FROM ${base}\nRUN --mount=type=cache,target=/c mkdir /out && cat /c/arch > /out/arch\n`,
  );
  const b = await build(read, "linux/amd64,linux/arm64", ["--cache-from", `type=local,src=${cache}`]);
  assert.equal(await readFile(join(b.out, "linux_amd64", "out", "arch"), "utf8"), "x86_64\n");
  assert.equal(await readFile(join(b.out, "linux_arm64", "out", "arch"), "utf8"), "aarch64\n");
});

test("a restore never replaces a cache directory the state dir already has", async () => {
  const cache = join(dir, "cache-keep");
  const ctxA = await context(
    `FROM ${base}\nRUN --mount=type=cache,target=/k,id=keep echo from-cache > /k/v && mkdir /out && echo a > /out/a\n`,
  );
  await build(ctxA, "linux/amd64", ["--cache-to", `type=local,dest=${cache},cache-mounts=true`]);
  const state = join(dir, "state-keep");
  const ctxB = await context(
    `FROM ${base}\nRUN --mount=type=cache,target=/k,id=keep echo local > /k/v && mkdir /out && echo b > /out/b\n`,
  );
  await build(ctxB, "linux/amd64", [], { state });
  const ctxC = await context(
    `FROM ${base}\nRUN --mount=type=cache,target=/k,id=keep mkdir /out && cat /k/v > /out/v\n`,
  );
  const c = await build(ctxC, "linux/amd64", ["--cache-from", `type=local,src=${cache}`], { state });
  assert.equal(await readFile(join(c.out, "out", "v"), "utf8"), "local\n");
  assert.doesNotMatch(c.output, /restoring cache mount/);
});

test("a state dir from before the per-platform split: the host platform's steps start from the old directory", async () => {
  const state = join(dir, "state-old");
  // id + sharing=shared keeps the name every cache directory had before: this makes an "old" directory.
  const old = await context(
    `FROM ${base}\nRUN --mount=type=cache,target=/o,id=old,sharing=shared echo old > /o/v && mkdir /out && echo 1 > /out/1\n`,
  );
  await build(old, "linux/amd64", [], { state });
  const read = await context(
    `FROM ${base}\nRUN --mount=type=cache,target=/o,id=old mkdir /out && (cat /o/v 2>/dev/null || echo none) > /out/v\n`,
  );
  const r = await build(read, "linux/amd64,linux/arm64", [], { state });
  assert.equal(await readFile(join(r.out, "linux_amd64", "out", "v"), "utf8"), "old\n");
  assert.equal(await readFile(join(r.out, "linux_arm64", "out", "v"), "utf8"), "none\n");
});

test("a fresh machine whose steps were all cached passes the imported cache mounts on to its --cache-to", async () => {
  const c1 = join(dir, "cache-chain-1");
  const c2 = join(dir, "cache-chain-2");
  const write = await context(
    `FROM ${base}\nRUN --mount=type=cache,target=/m echo from-machine-1 > /m/v && mkdir /out && echo 1 > /out/1\n`,
  );
  await build(write, "linux/amd64", ["--cache-to", `type=local,dest=${c1},cache-mounts=true`]);
  const b = await build(
    write,
    "linux/amd64",
    ["--cache-from", `type=local,src=${c1}`, "--cache-to", `type=local,dest=${c2},cache-mounts=true`],
    { oci: true },
  );
  assert.match(b.output, /RUN --mount=type=cache[^\n]*\n#\d+ CACHED \(from type=local/);
  assert.doesNotMatch(b.output, /restoring cache mount/, "the step was cached: nothing needed the mount");
  assert.deepEqual(
    (await mountEntries(c2)).map((e) => e.digest),
    (await mountEntries(c1)).map((e) => e.digest),
  );
  const read = await context(
    `FROM ${base}\nRUN --mount=type=cache,target=/m mkdir /out && cat /m/v > /out/v\n`,
  );
  const c = await build(read, "linux/amd64", ["--cache-from", `type=local,src=${c2}`]);
  assert.equal(await readFile(join(c.out, "out", "v"), "utf8"), "from-machine-1\n");
});
