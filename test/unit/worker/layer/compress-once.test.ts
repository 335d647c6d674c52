import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type ContentStore, openContentStore } from "../../../../src/content/index.ts";
import { ingestStream } from "../../../../src/content/ingest-stream.ts";
import {
  type CompressedLayer,
  compressOnce,
  reuseThresholdBytes,
} from "../../../../src/worker/layer/compress-once.ts";
import { computeChanges } from "../../../../src/worker/layer/differ.ts";
import { writeLayer } from "../../../../src/worker/layer/export-layer.ts";

let dir: string;
let store: ContentStore;
const big = randomBytes(reuseThresholdBytes + 1024);
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-compress-once-"));
  store = await openContentStore(join(dir, "store"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A step's upper directory holding /app/data.bin with `content`, at a fixed time. */
async function upper(name: string, content: Buffer) {
  const root = join(dir, name);
  await mkdir(join(root, "app"), { recursive: true });
  await writeFile(join(root, "app", "data.bin"), content);
  const t = new Date("2024-05-01T00:00:00Z");
  await utimes(join(root, "app", "data.bin"), t, t);
  await utimes(join(root, "app"), t, t);
  return computeChanges({ upper: root, upperKind: "overlay" });
}

/** Exports the changes through compressOnce, counting the compressions that really ran. */
async function exportCounting(changes: Awaited<ReturnType<typeof upper>>, count: { n: number }) {
  return compressOnce(store, changes, "gzip", async (): Promise<CompressedLayer> => {
    count.n++;
    const sink = await ingestStream(store);
    const r = await writeLayer(changes, { sink: sink.stream });
    await sink.committed;
    return { descriptor: r.descriptor, diffId: r.diffId };
  });
}

test("the same diff in two trees (two platforms) is compressed once; the second export gets the first blob", async () => {
  const count = { n: 0 };
  const [a, b] = await Promise.all([upper("amd64", big), upper("arm64", big)]);
  const first = await exportCounting(a, count);
  const second = await exportCounting(b, count);
  assert.equal(count.n, 1);
  assert.deepEqual(second, first);
  assert.ok(await store.info(first.descriptor.digest), "the blob is in the store");
});

test("concurrent exports of one diff share the one compression; another diff is compressed on its own", async () => {
  const count = { n: 0 };
  const content = randomBytes(reuseThresholdBytes + 2048);
  const [a, b, c] = await Promise.all([
    upper("x1", content),
    upper("x2", content),
    upper("y", big.subarray(1)),
  ]);
  const [ra, rb, rc] = await Promise.all([
    exportCounting(a, count),
    exportCounting(b, count),
    exportCounting(c, count),
  ]);
  assert.equal(count.n, 2);
  assert.deepEqual(rb, ra);
  assert.notEqual(rc.diffId, ra.diffId);
});

test("two diffs alike in every name, size and time but not in bytes are each compressed", async () => {
  const count = { n: 0 };
  const [a, b] = await Promise.all([
    upper("same-meta-1", randomBytes(reuseThresholdBytes + 4096)),
    upper("same-meta-2", randomBytes(reuseThresholdBytes + 4096)),
  ]);
  const first = await exportCounting(a, count);
  const second = await exportCounting(b, count);
  assert.equal(count.n, 2);
  assert.notEqual(second.descriptor.digest, first.descriptor.digest);
});
