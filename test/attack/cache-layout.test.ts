// A --cache-from layout is untrusted: its records may name paths instead of digests, and its blobs may be
// other bytes or symlinks to host files. None of it may reach outside the layout or into the image: the
// build warns, makes the steps itself, and gives the image a clean build gives.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, symlink, unlink, writeFile } from "node:fs/promises";
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
let ctx: string;
let seq = 0;
before(async () => {
  reg = await startRegistry();
  const base = (await pushBusyboxImage(reg)).ref;
  dir = await mkdtemp(join(tmpdir(), "polyarch-attack-cache-"));
  ctx = await mkdtemp(join(dir, "ctx-"));
  await writeFile(join(ctx, "a.txt"), "alpha\n");
  await writeFile(join(ctx, "Dockerfile"), `FROM ${base}\nCOPY a.txt /a.txt\n`);
});
after(async () => {
  await reg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Builds on a fresh state dir; returns the output and the image's layer digests. */
async function build(flags: string[]): Promise<{ output: string; layers: string[] }> {
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

/** The fields of the layout's JSON blobs (index, manifest, cache config) this file edits. */
interface LayoutDoc {
  manifests: Record<string, unknown>[];
  config: { digest: string };
  records: Record<string, unknown>[];
}

const blobPath = (cache: string, digest: string) => join(cache, "blobs", ...digest.split(":"));
const readJson = async (cache: string, digest: string) =>
  JSON.parse(await readFile(blobPath(cache, digest), "utf8")) as LayoutDoc;

/** Adds `value` as a blob of the layout; returns its digest. */
async function addJson(cache: string, value: unknown): Promise<{ digest: string; size: number }> {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = digestOf(bytes);
  await writeFile(blobPath(cache, digest), bytes);
  return { digest, size: bytes.length };
}

/** Rewrites the cache config's records of every platform, re-linking manifest, index and index.json. */
async function rewriteRecords(cache: string, edit: (records: Record<string, unknown>[]) => unknown[]) {
  const top = JSON.parse(await readFile(join(cache, "index.json"), "utf8")) as {
    manifests: Record<string, unknown>[];
  };
  const index = await readJson(cache, top.manifests[0]!.digest as string);
  for (const m of index.manifests as Record<string, unknown>[]) {
    const manifest = await readJson(cache, m.digest as string);
    const config = await readJson(cache, manifest.config.digest);
    const added = await addJson(cache, { records: edit(config.records) });
    const next = await addJson(cache, { ...manifest, config: { ...manifest.config, ...added } });
    Object.assign(m, next);
  }
  Object.assign(top.manifests[0]!, await addJson(cache, index));
  await writeFile(join(cache, "index.json"), JSON.stringify(top));
}

attack("cache records that name paths instead of digests are not followed", async (canaries) => {
  const cache = join(dir, "cache-paths");
  const clean = await build(["--cache-to", `type=local,dest=${cache}`]);
  await rewriteRecords(cache, (records) =>
    records.flatMap((r) => [
      { ...r, layer: { ...(r.layer as object), digest: `sha256:../../../..${canaries.etcFile}` } },
      { ...r, key: `../../${canaries.tmpDir}/x` },
      {
        ...r,
        layer: {
          ...(r.layer as object),
          digest: `sha256:${"0".repeat(64)}/../../../../..${canaries.shmFile}`,
        },
      },
    ]),
  );
  const b = await build(["--cache-from", `type=local,src=${cache}`]);
  assert.doesNotMatch(b.output, /CACHED \(from/, "a record naming a path was used");
  assert.doesNotMatch(b.output, /canary/);
  assert.deepEqual(b.layers, clean.layers);
});

attack(
  "a cache blob that is a symlink to a host file is not used, and not written through",
  async (canaries) => {
    const cache = join(dir, "cache-symlink");
    const clean = await build(["--cache-to", `type=local,dest=${cache}`]);
    const copyLayer = clean.layers.at(-1)!;
    await unlink(blobPath(cache, copyLayer));
    await symlink(canaries.etcFile, blobPath(cache, copyLayer));
    const b = await build([
      "--cache-from",
      `type=local,src=${cache}`,
      "--cache-to",
      `type=local,dest=${cache}`,
    ]);
    assert.match(b.output, new RegExp(`layer ${copyLayer} could not be used`));
    assert.doesNotMatch(b.output, /canary: must never change/, "a host file's bytes were quoted");
    assert.deepEqual(b.layers, clean.layers);
  },
);
