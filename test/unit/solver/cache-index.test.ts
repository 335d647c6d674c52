import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Digest } from "../../../src/oci/digest.ts";
import { CacheIndex } from "../../../src/solver/cache-index.ts";
import type { CacheKey } from "../../../src/solver/cache-key.ts";

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "polyarch-cacheindex-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const key = (c: string) => `sha256:${c.repeat(64)}` as CacheKey;

describe("the cache index", () => {
  it("keeps chains and layers by key, across instances (processes)", async () => {
    const a = new CacheIndex(root);
    await a.putChain(key("1"), { chain: ["diff-x", "run-1"], created: "2024-01-01T00:00:00.000Z" });
    const layer = {
      empty: false as const,
      descriptor: {
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: `sha256:${"b".repeat(64)}` as Digest,
        size: 3,
      },
      diffId: `sha256:${"c".repeat(64)}` as Digest,
    };
    await a.putLayer(key("1"), layer);
    await a.putLayer(key("2"), { empty: true });
    const b = new CacheIndex(root);
    assert.deepEqual(await b.getChain(key("1")), {
      chain: ["diff-x", "run-1"],
      created: "2024-01-01T00:00:00.000Z",
    });
    assert.deepEqual(await b.getLayer(key("1")), layer);
    assert.deepEqual(await b.getLayer(key("2")), { empty: true });
    assert.equal(await b.getChain(key("3")), undefined);
    // Writes are temp + rename: nothing but the entries is left behind.
    assert.deepEqual((await readdir(join(root, "index", "chains"))).sort(), [`${"1".repeat(64)}.json`]);
  });

  it("treats damaged or unexpected entries as misses, never as errors", async () => {
    const dir = join(root, "index", "chains");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${"4".repeat(64)}.json`), "{ half a reco");
    await writeFile(join(dir, `${"5".repeat(64)}.json`), JSON.stringify({ chain: ["ok", ".."] }));
    const index = new CacheIndex(root);
    assert.equal(await index.getChain(key("4")), undefined);
    assert.equal(await index.getChain(key("5")), undefined, "a chain never names a path outside dirs/");
  });
});
