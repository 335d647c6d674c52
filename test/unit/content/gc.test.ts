import assert from "node:assert/strict";
import { mkdtemp, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, beforeEach, test } from "node:test";
import { type ContentStore, gcRefLabelPrefix, openContentStore } from "../../../src/content/index.ts";
import type { Digest } from "../../../src/oci/digest.ts";
import { buildSampleImage, type SampleImage } from "../oci/layout/sample-image.ts";

let dir: string;
let store: ContentStore;
let image: SampleImage;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-gc-"));
  store = await openContentStore(dir);
  image = await buildSampleImage();
  for (const b of image.blobs)
    await store.write({ digest: b.descriptor.digest, size: b.descriptor.size }, b.bytes);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function age(digest: Digest): Promise<void> {
  const old = new Date(Date.now() - 3 * 3600 * 1000);
  await utimes(store.path(digest), old, old);
}

async function stored(): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const b of store.list()) out.add(b.digest);
  return out;
}

test("keeps everything reachable from a ref (index → manifests → config and layers), removes the rest", async () => {
  const stray = await store.write(undefined, Buffer.from("unreferenced"));
  for (const d of await stored()) await age(d as Digest);
  await store.setRef("app:1", image.index.descriptor);

  const result = await store.gc();
  assert.deepEqual(
    result.removed.map((b) => b.digest),
    [stray.digest],
  );
  assert.equal(result.freedBytes, stray.size);
  assert.equal(result.kept, image.blobs.length);
  assert.deepEqual(await stored(), new Set(image.blobs.map((b) => b.descriptor.digest)));
});

test("a root given as a bare digest is sniffed: a manifest keeps its config and layers", async () => {
  for (const d of await stored()) await age(d as Digest);
  const arm = image.images[1]!;
  const result = await store.gc({ roots: [arm.manifest.descriptor.digest] });
  assert.deepEqual(
    await stored(),
    new Set([arm.manifest, arm.config, arm.layer].map((b) => b.descriptor.digest)),
  );
  assert.equal(result.kept, 3);
});

test("without refs or roots everything old goes; recent blobs are spared by the grace period", async () => {
  const amd = image.images[0]!;
  for (const d of await stored()) if (d !== amd.layer.descriptor.digest) await age(d as Digest);
  const result = await store.gc();
  assert.deepEqual(await stored(), new Set([amd.layer.descriptor.digest]));
  assert.equal(result.removed.length, image.blobs.length - 1);
  await store.gc({ gracePeriodMs: 0 });
  assert.deepEqual(await stored(), new Set());
});

test("a gc.ref label keeps its target while its holder is kept", async () => {
  const cacheRecord = await store.write(undefined, Buffer.from('{"cache":"record"}'));
  const layer = image.images[0]!.layer.descriptor.digest;
  await store.setLabels(cacheRecord.digest, { [`${gcRefLabelPrefix}layer`]: layer });
  await store.setRef("cache/abc", {
    mediaType: "application/vnd.polyarch.cache.v1+json",
    digest: cacheRecord.digest,
    size: cacheRecord.size,
  });
  await store.gc({ gracePeriodMs: 0 });
  assert.deepEqual(await stored(), new Set([cacheRecord.digest, layer]));
});

test("a dry run reports without removing", async () => {
  const result = await store.gc({ gracePeriodMs: 0, dryRun: true });
  assert.equal(result.removed.length, image.blobs.length);
  assert.equal((await stored()).size, image.blobs.length);
});
