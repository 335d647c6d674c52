// --cache-to / --cache-from type=registry (and type=inline, type=local mode=max) through the CLI, against the
// Debian distribution registry behind a logging proxy: a cache written on one state dir makes a build on an
// empty one all CACHED with the same image, downloading no cache blob the output does not need; mode=max
// brings a stage's intermediate steps; every platform of a build lands in one ref and a later build of a
// subset hits; a missing cache blob is a warning and a rebuild of that step.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { run } from "../../harness/exec.ts";
import { type FaultProxy, startFaultProxy } from "../../harness/fault-proxy.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { polyarch } from "../../support/cli.ts";

let reg: TestRegistry;
let proxy: FaultProxy;
let base: string;
let dir: string;
let seq = 0;
before(async () => {
  reg = await startRegistry();
  proxy = await startFaultProxy(reg);
  base = (await pushBusyboxImage(reg)).ref;
  dir = await mkdtemp(join(tmpdir(), "polyarch-cache-registry-"));
});
after(async () => {
  await proxy?.stop();
  await reg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A two-stage build: the final stage copies the first stage's result. */
async function context(finalCopy = "/res.txt"): Promise<string> {
  const ctx = await mkdtemp(join(dir, "ctx-"));
  await writeFile(join(ctx, "a.txt"), "alpha\n");
  await writeFile(
    join(ctx, "Dockerfile"),
    [
      `FROM ${base} AS build`,
      "ARG TARGETARCH",
      'RUN echo "built for $TARGETARCH" > /out.txt',
      "COPY a.txt /a.txt",
      "RUN cat /a.txt /out.txt > /res.txt",
      `FROM ${base}`,
      `COPY --from=build /res.txt ${finalCopy}`,
      "RUN echo final >> /final.txt",
      "",
    ].join("\n"),
  );
  return ctx;
}

/** One stage whose COPY layer is the same bytes however often it is made (the context's times are fixed). */
async function copyContext(): Promise<string> {
  const ctx = await mkdtemp(join(dir, "ctx-"));
  await writeFile(join(ctx, "a.txt"), "alpha\n");
  await writeFile(join(ctx, "Dockerfile"), `FROM ${base}\nCOPY a.txt /a.txt\nRUN echo hi > /b.txt\n`);
  return ctx;
}

interface Built {
  output: string;
  digest: string;
  out: string;
  /** Per architecture: the image's layer digests. */
  layers: Map<string, string[]>;
  /** Blob GETs through the proxy during the build, by repository. */
  gets: { repo: string; digest: string }[];
}

async function build(ctx: string, platforms: string, cacheFlags: string[]): Promise<Built> {
  const n = ++seq;
  const out = join(dir, `out-${n}`);
  const meta = join(dir, `meta-${n}.json`);
  const before = proxy.requests.length;
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
  const gets = proxy.requests
    .slice(before)
    .filter((q) => q.method === "GET")
    .flatMap((q) => {
      const m = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})/.exec(q.path);
      return m ? [{ repo: m[1]!, digest: m[2]! }] : [];
    });
  const json = async (digest: string) =>
    JSON.parse(await readFile(join(out, "blobs", ...digest.split(":")), "utf8")) as Record<string, unknown>;
  const top = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as {
    manifests: { digest: string }[];
  };
  const first = await json(top.manifests[0]!.digest);
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
  return { output: r.stderr + r.stdout, digest, out, layers, gets };
}

/** A file's bytes from the topmost layer of the image that has it. */
async function fileOf(b: Built, arch: string, path: string): Promise<string> {
  for (const layer of [...b.layers.get(arch)!].reverse()) {
    const r = await run("tar", ["-xzOf", join(b.out, "blobs", ...layer.split(":")), path]);
    if (r.code === 0) return r.stdout;
  }
  throw new Error(`${path} is in no layer`);
}

function assertAllCached(output: string): void {
  const lines = output.split("\n").filter((l) => /^linux\/\w+\s+\d+ steps/.test(l));
  assert.ok(lines.length > 0, output);
  for (const l of lines) assert.match(l, /(\d+) steps \(\1 cached\)/, output);
}

const quote = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function cachedFrom(step: string, where: string): RegExp {
  return new RegExp(`${quote(step)}[^\\n]*\\n#\\d+ CACHED \\(from ${quote(where)}\\)`);
}

async function cacheIndex(
  ref: string,
): Promise<{ manifests: { platform: { architecture: string }; artifactType: string }[] }> {
  const [repo, tag] = ref.slice(proxy.host.length + 1).split(":");
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: "application/vnd.oci.image.index.v1+json" },
  });
  assert.equal(res.status, 200);
  return (await res.json()) as never;
}

test("registry mode=max: an empty state dir gets every step CACHED, the same image, and no blob it does not need", async () => {
  const ctx = await context();
  const ref = `${proxy.host}/cache/app:max`;
  const a = await build(ctx, "linux/amd64", ["--cache-to", `type=registry,ref=${ref},mode=max`]);
  const b = await build(ctx, "linux/amd64", ["--cache-from", `type=registry,ref=${ref}`]);
  for (const step of ["COPY --from=build", "RUN echo final"])
    assert.match(
      b.output,
      cachedFrom(step, `type=registry,ref=${ref}`),
      `${step} not CACHED from the registry`,
    );
  assertAllCached(b.output);
  assert.equal(b.digest, a.digest);
  // From the cache repository: the cache config and the image's own two layers, each once; nothing of
  // the first stage (its steps were not needed).
  const fromCache = b.gets.filter((g) => g.repo === "cache/app").map((g) => g.digest);
  const own = a.layers.get("amd64")!.slice(-2);
  const layerGets = fromCache.filter((d) => !own.includes(d));
  assert.equal(
    layerGets.length,
    1,
    `expected only the cache config besides the image's layers: ${fromCache}`,
  );
  assert.deepEqual(fromCache.filter((d) => own.includes(d)).sort(), [...own].sort());
});

test("a fresh machine with its base image and cache on one registry asks it for each thing once", async () => {
  // The base image through the proxy too, so every request of the build is seen.
  const viaProxy = base.replace(reg.host, proxy.host);
  assert.notEqual(viaProxy, base);
  const ctx = await mkdtemp(join(dir, "ctx-"));
  await writeFile(join(ctx, "a.txt"), "alpha\n");
  await writeFile(
    join(ctx, "Dockerfile"),
    `FROM ${viaProxy} AS build\nCOPY a.txt /a.txt\nRUN cat /a.txt > /res.txt\nFROM ${viaProxy}\nCOPY --from=build /res.txt /res.txt\n`,
  );
  const ref = `${proxy.host}/cache/app:once`;
  const a = await build(ctx, "linux/amd64", ["--cache-to", `type=registry,ref=${ref},mode=max`]);
  const before = proxy.requests.length;
  const b = await build(ctx, "linux/amd64", ["--cache-from", `type=registry,ref=${ref}`]);
  assertAllCached(b.output);
  assert.equal(b.digest, a.digest);
  const gets = proxy.requests
    .slice(before)
    .filter((q) => q.method === "GET")
    .map((q) => q.path);
  // One transport for the host: one ping, whatever the number of repositories asked.
  assert.equal(gets.filter((p) => p === "/v2/").length, 1, gets.join("\n"));
  // Nothing asked twice: the base image's layers come from its stored manifest, not a second resolution.
  const twice = gets.filter((p, i) => gets.indexOf(p) !== i);
  assert.deepEqual(twice, [], gets.join("\n"));
  // The base image's layer is in the output, fetched from its own repository.
  const baseRepo = viaProxy.slice(proxy.host.length + 1).split(/[:@]/)[0]!;
  const baseLayer = b.layers.get("amd64")![0]!;
  assert.ok(
    b.gets.some((g) => g.repo === baseRepo && g.digest === baseLayer),
    gets.join("\n"),
  );
});

test("a push to the same registry mounts the cache's layers instead of downloading them", async () => {
  const ctx = await context();
  const ref = `${proxy.host}/cache/app:push`;
  const a = await build(ctx, "linux/amd64", ["--cache-to", `type=registry,ref=${ref},mode=max`]);
  const n = ++seq;
  const before = proxy.requests.length;
  const image = `${proxy.host}/pushed/app:1`;
  const r = await polyarch(
    [
      "build",
      "--progress=plain",
      "--platform",
      "linux/amd64",
      "-o",
      `type=image,name=${image},push=true,oci-mediatypes=true`,
      // One image manifest under the tag (no provenance index), to compare with the first build's.
      "--provenance=false",
      "--cache-from",
      `type=registry,ref=${ref}`,
      ctx,
    ],
    { env: { POLYARCH_ROOT: join(dir, `state-${n}`) } },
  );
  assert.equal(r.code, 0, r.stderr);
  assertAllCached(r.stderr + r.stdout);
  const requests = proxy.requests.slice(before);
  const own = a.layers.get("amd64")!.slice(-2);
  for (const d of own) {
    assert.ok(!requests.some((q) => q.method === "GET" && q.path.includes(d)), `${d} was downloaded`);
    assert.ok(
      requests.some((q) => q.method === "POST" && q.path.includes(`mount=${encodeURIComponent(d)}`)),
      `${d} was not mounted`,
    );
  }
  // The pushed image is the one built with the cache's layers.
  const res = await fetch(`${reg.url}/v2/pushed/app/manifests/1`, {
    headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  const manifest = (await res.json()) as { layers: { digest: string }[] };
  assert.deepEqual(
    manifest.layers.map((l) => l.digest),
    a.layers.get("amd64"),
  );
});

test("registry mode=max: a changed final stage reuses every step of the first stage on a fresh state dir", async () => {
  const ref = `${proxy.host}/cache/app:stages`;
  await build(await context(), "linux/amd64", ["--cache-to", `type=registry,ref=${ref},mode=max`]);
  const changed = await context("/res2.txt");
  const b = await build(changed, "linux/amd64", ["--cache-from", `type=registry,ref=${ref}`]);
  // The first stage's last step comes whole from the cache, so the steps before it are not even needed.
  assert.match(b.output, cachedFrom("RUN cat /a.txt", `type=registry,ref=${ref}`), b.output);
  for (const step of ['RUN echo "built for', "COPY a.txt"])
    assert.match(
      b.output,
      new RegExp(`${quote(step)}[^\\n]*\\n#\\d+ CACHED`),
      `${step} not CACHED: ${b.output}`,
    );
  assert.doesNotMatch(b.output, /COPY --from=build[^\n]*\n#\d+ CACHED/);
  // The first stage's result is what it was: its files came through the cache.
  assert.equal(await fileOf(b, "amd64", "res2.txt"), "alpha\nbuilt for amd64\n");
});

test("CI's loop (--cache-from R --cache-to R,mode=max on fresh machines) keeps the chain records R had", async () => {
  const ref = `${proxy.host}/cache/app:loop`;
  const loop = [
    "--cache-from",
    `type=registry,ref=${ref},ignore-error=true`,
    "--cache-to",
    `type=registry,ref=${ref},mode=max`,
  ];
  await build(await context(), "linux/amd64", loop);
  // A fresh machine whose build hits on the image's layers only: the first stage never comes to disk.
  const second = await build(await context(), "linux/amd64", loop);
  assertAllCached(second.output);
  // A third with a changed final stage still finds the first stage's last step in R.
  const third = await build(await context("/res2.txt"), "linux/amd64", loop);
  assert.match(third.output, cachedFrom("RUN cat /a.txt", `type=registry,ref=${ref}`), third.output);
  assert.equal(await fileOf(third, "amd64", "res2.txt"), "alpha\nbuilt for amd64\n");
});

test("registry mode=min: without chain records a changed final stage runs the first stage again", async () => {
  const ref = `${proxy.host}/cache/app:min`;
  await build(await context(), "linux/amd64", ["--cache-to", `type=registry,ref=${ref}`]);
  const b = await build(await context("/res2.txt"), "linux/amd64", [
    "--cache-from",
    `type=registry,ref=${ref}`,
  ]);
  assert.doesNotMatch(b.output, /RUN cat \/a\.txt[^\n]*\n#\d+ CACHED/);
});

test("type=local mode=max: the same reuse through a layout directory", async () => {
  const cache = join(dir, "local-max");
  await build(await context(), "linux/amd64", ["--cache-to", `type=local,dest=${cache},mode=max`]);
  const changed = await context("/res2.txt");
  const b = await build(changed, "linux/amd64", ["--cache-from", `type=local,src=${cache}`]);
  assert.match(b.output, cachedFrom("RUN cat /a.txt", `type=local,src=${cache}`), b.output);
  assert.equal(await fileOf(b, "amd64", "res2.txt"), "alpha\nbuilt for amd64\n");
});

test("three platforms in one ref; a build of one of them on a fresh state dir hits", async () => {
  const ctx = await context();
  const ref = `${proxy.host}/cache/app:three`;
  await build(ctx, "linux/amd64,linux/arm64,linux/arm/v7", [
    "--cache-to",
    `type=registry,ref=${ref},mode=max`,
  ]);
  const index = await cacheIndex(ref);
  assert.deepEqual(index.manifests.map((m) => m.platform.architecture).sort(), ["amd64", "arm", "arm64"]);
  const one = await build(ctx, "linux/arm64", ["--cache-from", `type=registry,ref=${ref}`]);
  assertAllCached(one.output);
});

test("amd64 then arm64 exported to one ref: it holds both", async () => {
  const ctx = await context();
  const ref = `${proxy.host}/cache/app:two`;
  const amd = await build(ctx, "linux/amd64", ["--cache-to", `type=registry,ref=${ref}`]);
  await build(ctx, "linux/arm64", ["--cache-to", `type=registry,ref=${ref}`]);
  const index = await cacheIndex(ref);
  assert.deepEqual(index.manifests.map((m) => m.platform.architecture).sort(), ["amd64", "arm64"]);
  const again = await build(ctx, "linux/amd64", ["--cache-from", `type=registry,ref=${ref}`]);
  assertAllCached(again.output);
  assert.equal(again.digest, amd.digest);
});

test("type=inline: the pushed image's config carries the cache, and --cache-from IMAGE reads it", async () => {
  const ctx = await context();
  const image = `${proxy.host}/inline/app:1`;
  const inline = ["--cache-to", "type=inline"];
  const a = await build(ctx, "linux/amd64", [
    "-o",
    `type=image,name=${image},push=true,oci-mediatypes=true`,
    ...inline,
  ]);
  const b = await build(ctx, "linux/amd64", ["--cache-from", image, ...inline]);
  assert.match(b.output, cachedFrom("RUN echo final", `type=registry,ref=${image}`), b.output);
  assertAllCached(b.output);
  assert.deepEqual(b.layers, a.layers);
  assert.equal(b.digest, a.digest);
  // Only the image's own layers came from it: nothing of the first stage exists there to be fetched.
  const fromImage = b.gets.filter((g) => g.repo === "inline/app").map((g) => g.digest);
  for (const d of a.layers.get("amd64")!.slice(-2)) assert.ok(fromImage.includes(d), `${d} not fetched`);
});

test("cache-mounts=true through a registry: a fresh machine's missing step starts with the mount's contents", async () => {
  const ref = `${proxy.host}/cache/app:mounts`;
  const write = await mkdtemp(join(dir, "ctx-"));
  await writeFile(
    join(write, "Dockerfile"),
    `FROM ${base}\nRUN --mount=type=cache,target=/root/.cache echo warm > /root/.cache/seen && echo one > /one\n`,
  );
  await build(write, "linux/amd64", ["--cache-to", `type=registry,ref=${ref},cache-mounts=true`]);
  const index = await cacheIndex(ref);
  assert.ok(index.manifests.some((m) => m.artifactType === "application/vnd.polyarch.cache-mount.v1"));
  const read = await mkdtemp(join(dir, "ctx-"));
  await writeFile(
    join(read, "Dockerfile"),
    `FROM ${base}\nRUN --mount=type=cache,target=/root/.cache cat /root/.cache/seen > /seen\n`,
  );
  const b = await build(read, "linux/amd64", ["--cache-from", `type=registry,ref=${ref}`]);
  assert.match(
    b.output,
    new RegExp(`restoring cache mount id=/root/\\.cache from type=registry,ref=${quote(ref)}`),
  );
  assert.equal(await fileOf(b, "amd64", "seen"), "warm\n");
});

test("a cache blob missing from the registry is a warning and a rebuild of that step, the same image", async () => {
  const ctx = await copyContext();
  const ref = `${proxy.host}/cache/app:missing`;
  const a = await build(ctx, "linux/amd64", ["--cache-to", `type=registry,ref=${ref}`]);
  const copyLayer = a.layers.get("amd64")!.at(-2)!;
  proxy.addFault({
    method: "GET",
    path: `/cache/app/blobs/${copyLayer}`,
    fault: { kind: "status", status: 404 },
  });
  proxy.addFault({
    method: "HEAD",
    path: `/cache/app/blobs/${copyLayer}`,
    fault: { kind: "status", status: 404 },
  });
  try {
    const b = await build(ctx, "linux/amd64", ["--cache-from", `type=registry,ref=${ref}`]);
    assert.match(b.output, new RegExp(`layer ${copyLayer} could not be used`));
    assert.doesNotMatch(b.output, /COPY a\.txt[^\n]*\n#\d+ CACHED/, "the step was not rebuilt");
    // Made again, to the same layer: the image's layers are the first build's.
    assert.deepEqual(b.layers, a.layers);
  } finally {
    proxy.clearFaults();
  }
});

test("a corrupted cache blob is a warning and a rebuild of that step, never a wrong image", async () => {
  const ctx = await copyContext();
  const ref = `${proxy.host}/cache/app:corrupt`;
  const a = await build(ctx, "linux/amd64", ["--cache-to", `type=registry,ref=${ref}`]);
  const copyLayer = a.layers.get("amd64")!.at(-2)!;
  proxy.addFault({ method: "GET", path: `/cache/app/blobs/${copyLayer}`, fault: { kind: "corrupt" } });
  try {
    const b = await build(ctx, "linux/amd64", ["--cache-from", `type=registry,ref=${ref}`]);
    assert.ok(proxy.injected("corrupt") > 0);
    assert.match(b.output, new RegExp(`layer ${copyLayer} could not be used`));
    assert.deepEqual(b.layers, a.layers);
  } finally {
    proxy.clearFaults();
  }
});
