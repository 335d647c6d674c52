// A --cache-from registry cache is untrusted: its index, manifests and cache config can name paths instead
// of digests, claim huge sizes, lie about a layer's diff_id, or come in artifact types polyarch does not
// know. None of it may reach outside the store or into the image, or fail the build: the build warns,
// makes the steps itself, and gives the image a clean build gives.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { digestOf } from "../../src/oci/digest.ts";
import { pushBusyboxImage } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { polyarch } from "../support/cli.ts";
import { attack } from "./support/attack.ts";

let reg: TestRegistry;
let dir: string;
let base: string;
let seq = 0;
before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
  dir = await mkdtemp(join(tmpdir(), "polyarch-attack-cache-registry-"));
});
after(async () => {
  await reg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Two stages; the final one copies the first's file to `to` (changing it needs the first stage's chain). */
async function context(to: string): Promise<string> {
  const ctx = await mkdtemp(join(dir, "ctx-"));
  await writeFile(join(ctx, "a.txt"), "alpha\n");
  await writeFile(
    join(ctx, "Dockerfile"),
    `FROM ${base} AS s\nCOPY a.txt /a.txt\nFROM ${base}\nCOPY --from=s /a.txt ${to}\n`,
  );
  return ctx;
}

async function build(ctx: string, flags: string[]): Promise<{ output: string; layers: string[] }> {
  const n = ++seq;
  const out = join(dir, `out-${n}`);
  const r = await polyarch(
    [
      "build",
      "--progress=plain",
      "--platform",
      "linux/amd64",
      "-o",
      `type=oci,dest=${out},tar=false`,
      ...flags,
      ctx,
    ],
    { env: { POLYARCH_ROOT: join(dir, `state-${n}`) } },
  );
  assert.equal(r.code, 0, r.stderr);
  const top = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as {
    manifests: { digest: string }[];
  };
  const manifest = JSON.parse(
    await readFile(join(out, "blobs", ...top.manifests[0]!.digest.split(":")), "utf8"),
  ) as {
    layers: { digest: string }[];
  };
  return { output: r.stderr, layers: manifest.layers.map((l) => l.digest) };
}

const index = "application/vnd.oci.image.index.v1+json";
const ociManifest = "application/vnd.oci.image.manifest.v1+json";

async function getJson(
  repo: string,
  kind: "manifests" | "blobs",
  ref: string,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${reg.url}/v2/${repo}/${kind}/${ref}`, {
    headers: { accept: `${index}, ${ociManifest}` },
  });
  assert.equal(res.status, 200, `${kind}/${ref}`);
  return (await res.json()) as Record<string, unknown>;
}

async function putBlob(repo: string, value: unknown): Promise<{ digest: string; size: number }> {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = digestOf(bytes);
  const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  const location = new URL(start.headers.get("location")!, reg.url);
  location.searchParams.set("digest", digest);
  const put = await fetch(location, {
    method: "PUT",
    body: bytes,
    headers: { "content-type": "application/octet-stream" },
  });
  assert.equal(put.status, 201);
  return { digest, size: bytes.length };
}

async function putManifest(repo: string, ref: string, value: unknown, mediaType: string) {
  const bytes = Buffer.from(JSON.stringify(value));
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, {
    method: "PUT",
    body: bytes,
    headers: { "content-type": mediaType },
  });
  assert.equal(res.status, 201, await res.text());
  return { mediaType, digest: digestOf(bytes), size: bytes.length };
}

type Config = {
  records: Record<string, unknown>[];
  chains?: { key: string; layers: Record<string, unknown>[] }[];
};

/** Rewrites the cache config of every platform manifest of `repo:tag`, and adds `extra` index entries. */
async function rewrite(
  repo: string,
  tag: string,
  edit: (c: Config) => Config,
  extra: Record<string, unknown>[] = [],
) {
  const top = (await getJson(repo, "manifests", tag)) as { manifests: Record<string, unknown>[] };
  for (const m of top.manifests) {
    const manifest = (await getJson(repo, "manifests", m.digest as string)) as {
      config: Record<string, unknown>;
    };
    const config = (await getJson(repo, "blobs", manifest.config.digest as string)) as unknown as Config;
    const added = await putBlob(repo, edit(config));
    const next = await putManifest(
      repo,
      `sha256-edit-${++seq}`,
      { ...manifest, config: { ...manifest.config, ...added } },
      ociManifest,
    );
    Object.assign(m, { digest: next.digest, size: next.size });
  }
  top.manifests.push(...extra);
  await putManifest(repo, tag, top, index);
}

attack(
  "hostile chain records (paths, huge sizes, a lying diff_id) are not used and fail nothing",
  async (canaries) => {
    const repo = "attack/chains";
    const ref = `${reg.host}/${repo}:max`;
    await build(await context("/b.txt"), ["--cache-to", `type=registry,ref=${ref},mode=max`]);
    const changed = await context("/c.txt");
    const clean = await build(changed, []);
    // Every chain layer keeps its blob but claims another diff_id: unpacking it must be refused.
    await rewrite(repo, "max", (c) => ({
      records: [],
      chains: (c.chains ?? []).map((ch) => ({
        ...ch,
        layers: ch.layers.map((l) => ({ ...l, diffId: `sha256:${"e".repeat(64)}` })),
      })),
    }));
    const lied = await build(changed, ["--cache-from", `type=registry,ref=${ref}`]);
    assert.match(lied.output, /COPY a\.txt \/a\.txt could not be used \([^)]*unpacks to/, lied.output);
    assert.deepEqual(lied.layers, clean.layers);
    // Paths for digests and keys, and sizes no blob has.
    await rewrite(repo, "max", (c) => ({
      records: [],
      chains: (c.chains ?? []).flatMap((ch) => [
        { ...ch, layers: ch.layers.map((l) => ({ ...l, digest: `sha256:../../../..${canaries.etcFile}` })) },
        { ...ch, key: `../../${canaries.tmpDir}/x` },
        { ...ch, layers: ch.layers.map((l) => ({ ...l, size: 2 ** 52 })) },
      ]),
    }));
    const b = await build(changed, ["--cache-from", `type=registry,ref=${ref}`]);
    assert.match(b.output, /could not be used/);
    assert.doesNotMatch(b.output, /canary/);
    assert.deepEqual(b.layers, clean.layers);
  },
);

attack("manifests of other artifact types, and a config far too large, are skipped", async (canaries) => {
  const repo = "attack/kinds";
  const ref = `${reg.host}/${repo}:min`;
  const ctx = await context("/b.txt");
  const clean = await build(ctx, ["--cache-to", `type=registry,ref=${ref}`]);
  const foreign = await putBlob(repo, { records: [{ key: "x", path: canaries.etcFile }] });
  const other = await putManifest(
    repo,
    "other",
    {
      schemaVersion: 2,
      mediaType: ociManifest,
      artifactType: "application/vnd.example.other.v1",
      config: { mediaType: "application/vnd.example.other.config+json", ...foreign },
      layers: [],
    },
    ociManifest,
  );
  const huge = await putManifest(
    repo,
    "huge",
    {
      schemaVersion: 2,
      mediaType: ociManifest,
      artifactType: "application/vnd.polyarch.cache.v1",
      config: {
        mediaType: "application/vnd.polyarch.cache.config.v1+json",
        digest: foreign.digest,
        size: 2 ** 40,
      },
      layers: [],
    },
    ociManifest,
  );
  await rewrite(repo, "min", (c) => c, [
    {
      ...other,
      artifactType: "application/vnd.example.other.v1",
      platform: { os: "linux", architecture: "amd64" },
    },
    {
      ...huge,
      artifactType: "application/vnd.polyarch.cache.v1",
      platform: { os: "linux", architecture: "amd64" },
    },
  ]);
  const b = await build(ctx, ["--cache-from", `type=registry,ref=${ref}`]);
  // The real records still hit; the foreign and oversized ones are not read.
  assert.match(b.output, /CACHED \(from type=registry/);
  assert.doesNotMatch(b.output, /canary/);
  assert.deepEqual(b.layers, clean.layers);
  // And a new export keeps the other kind's manifest.
  await build(ctx, ["--cache-to", `type=registry,ref=${ref}`]);
  const top = (await getJson(repo, "manifests", "min")) as { manifests: { digest: string }[] };
  assert.ok(
    top.manifests.some((m) => m.digest === other.digest),
    "the other artifact type's manifest was dropped",
  );
});
