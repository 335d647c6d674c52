import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import {
  BlobNotFoundError,
  type ContentStore,
  defaultContentRoot,
  defaultStateDir,
  openContentStore,
  SizeMismatchError,
} from "../../../src/content/index.ts";
import type { UserError } from "../../../src/errors/user-error.ts";
import { DigestMismatchError, digestOf } from "../../../src/oci/digest.ts";

let dir: string;
let store: ContentStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-store-"));
  store = await openContentStore(join(dir, "content"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function blobFiles(): Promise<string[]> {
  const root = join(store.root, "blobs");
  const out: string[] = [];
  for (const alg of await readdir(root))
    for (const f of await readdir(join(root, alg))) out.push(`${alg}:${f}`);
  return out;
}

describe("content store: reading and writing", () => {
  test("writes bytes under their digest and reads them back", async () => {
    const data = Buffer.from("hello store");
    const digest = digestOf(data);
    const info = await store.write({ digest, size: data.length }, data);
    assert.deepEqual(info, { digest, size: data.length });
    assert.equal(await store.has(digest), true);
    assert.deepEqual(await store.info(digest), { digest, size: data.length });
    assert.deepEqual(await store.readBytes(digest), data);
    assert.deepEqual(await collect(await store.readStream(digest)), data);
    assert.deepEqual(await collect(await store.readStream(digest, { start: 6, end: 8 })), Buffer.from("sto"));
    assert.equal(store.path(digest), join(store.root, "blobs", "sha256", digest.slice(7)));
    assert.deepEqual(await readFile(store.path(digest)), data);
  });

  test("computes the digest when none is expected, from a Readable or an async iterable", async () => {
    const parts = ["a", "bc", "def"].map((s) => Buffer.from(s));
    const fromReadable = await store.write(undefined, Readable.from(parts));
    async function* gen() {
      yield* parts;
    }
    const fromIterable = await store.write(undefined, gen());
    assert.equal(fromReadable.digest, digestOf("abcdef"));
    assert.deepEqual(fromIterable, fromReadable);
    assert.equal(fromReadable.size, 6);
  });

  test("sha512 digests are verified with sha512", async () => {
    const data = Buffer.from("sha512 content");
    const digest = digestOf(data, "sha512");
    await store.write({ digest }, data);
    assert.deepEqual(await store.readBytes(digest), data);
    assert.match(store.path(digest), /blobs\/sha512\/[0-9a-f]{128}$/);
  });

  test("a digest mismatch stores nothing and leaves no temp file", async () => {
    const wrong = digestOf("something else");
    const before = await blobFiles();
    await assert.rejects(store.write({ digest: wrong }, Buffer.from("actual bytes")), (e: unknown) => {
      assert.ok(e instanceof DigestMismatchError);
      assert.equal(e.expected, wrong);
      assert.equal(e.actual, digestOf("actual bytes"));
      return true;
    });
    assert.equal(await store.has(wrong), false);
    assert.equal(await store.has(digestOf("actual bytes")), false);
    assert.deepEqual(await blobFiles(), before);
    assert.deepEqual(await readdir(join(store.root, "ingest")), []);
  });

  test("a size mismatch (too many or too few bytes) stores nothing", async () => {
    const data = Buffer.from("twelve bytes");
    const digest = digestOf(data);
    await assert.rejects(store.write({ digest, size: 5 }, data), SizeMismatchError);
    await assert.rejects(store.write({ digest, size: 20 }, data), SizeMismatchError);
    assert.equal(await store.has(digest), false);
    assert.deepEqual(await readdir(join(store.root, "ingest")), []);
  });

  test("stops reading a source as soon as it exceeds the expected size", async () => {
    let produced = 0;
    async function* endless() {
      for (;;) {
        produced++;
        yield Buffer.alloc(1024, 1);
      }
    }
    await assert.rejects(store.write({ digest: digestOf("x"), size: 4096 }, endless()), SizeMismatchError);
    assert.ok(produced <= 6, `read ${produced} chunks`);
  });

  test("an already stored blob is not read again", async () => {
    const data = Buffer.from("present already");
    const digest = digestOf(data);
    await store.write({ digest }, data);
    const source = new Readable({
      read() {
        throw new Error("must not be read");
      },
    });
    assert.deepEqual(await store.write({ digest, size: data.length }, source), { digest, size: data.length });
    assert.equal(source.destroyed, true);
  });

  test("the writer form commits chunks and abort leaves nothing", async () => {
    const data = Buffer.from("chunked writer content");
    const digest = digestOf(data);
    const w = await store.openWriter({ digest, size: data.length }, { labels: { "test.label": "yes" } });
    await w.write(data.subarray(0, 5));
    await w.write(data.subarray(5));
    assert.equal(w.written, data.length);
    assert.equal(await store.has(digest), false, "nothing visible before commit");
    assert.deepEqual(await w.commit(), { digest, size: data.length });
    assert.deepEqual(await store.readBytes(digest), data);
    assert.deepEqual(await store.labels(digest), { "test.label": "yes" });

    const other = Buffer.from("aborted");
    const a = await store.openWriter({ digest: digestOf(other) });
    await a.write(other);
    await a.abort();
    await a.abort();
    assert.equal(await store.has(digestOf(other)), false);
    assert.deepEqual(await readdir(join(store.root, "ingest")), []);
  });

  test("missing blobs are reported with BlobNotFoundError", async () => {
    const missing = digestOf("never written");
    assert.equal(await store.info(missing), undefined);
    await assert.rejects(store.readStream(missing), BlobNotFoundError);
    await assert.rejects(store.readBytes(missing), BlobNotFoundError);
    assert.equal(await store.delete(missing), false);
  });

  test("readBytes refuses blobs larger than its limit", async () => {
    const data = Buffer.alloc(4096, 7);
    const { digest } = await store.write(undefined, data);
    await assert.rejects(store.readBytes(digest, 1024), (e: unknown) => {
      assert.match(String(e), /4096 bytes, more than the 1024/);
      assert.match((e as UserError).hint ?? "", /readStream/);
      return true;
    });
  });

  test("list and delete", async () => {
    const data = Buffer.from("to be deleted");
    const { digest } = await store.write(undefined, data);
    await store.setLabels(digest, { a: "b" });
    const listed: string[] = [];
    for await (const b of store.list()) listed.push(b.digest);
    assert.ok(listed.includes(digest));
    assert.equal(await store.delete(digest), true);
    assert.equal(await store.has(digest), false);
    assert.deepEqual(await store.labels(digest), {});
  });

  test("streams a blob larger than memory chunks without buffering it", async () => {
    const size = 32 * 1024 * 1024 + 17;
    const chunk = Buffer.alloc(1024 * 1024, 0xab);
    async function* big() {
      for (let left = size; left > 0; left -= chunk.length)
        yield left >= chunk.length ? chunk : chunk.subarray(0, left);
    }
    const info = await store.write(undefined, big());
    assert.equal(info.size, size);
    assert.equal((await stat(store.path(info.digest))).size, size);
    let total = 0;
    for await (const c of await store.readStream(info.digest)) total += (c as Buffer).length;
    assert.equal(total, size);
  });
});

describe("content store: metadata", () => {
  test("labels merge, and an empty value removes one", async () => {
    const { digest } = await store.write(undefined, Buffer.from("labelled"));
    assert.deepEqual(await store.labels(digest), {});
    await store.setLabels(digest, { x: "1", y: "2" });
    assert.deepEqual(await store.setLabels(digest, { y: "", z: "3" }), { x: "1", z: "3" });
    assert.deepEqual(await store.labels(digest), { x: "1", z: "3" });
  });

  test("labels already as asked are not written again", async () => {
    const { digest } = await store.write(undefined, Buffer.from("labels twice"));
    await store.setLabels(digest, { "polyarch.io/source": "repo" });
    const path = join(dir, "content", "labels", "sha256", `${digest.slice(7)}.json`);
    const before = await stat(path);
    assert.deepEqual(await store.setLabels(digest, { "polyarch.io/source": "repo" }), {
      "polyarch.io/source": "repo",
    });
    const again = await stat(path);
    assert.equal(again.ino, before.ino, "the labels file was replaced although nothing changed");
    await store.setLabels(digest, { "polyarch.io/source": "other" });
    assert.notEqual((await stat(path)).ino, before.ino);
    assert.deepEqual(await store.labels(digest), { "polyarch.io/source": "other" });
  });

  test("refs name descriptors", async () => {
    const { digest, size } = await store.write(undefined, Buffer.from("{}"));
    const descriptor = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest, size };
    await store.setRef("docker.io/library/app:1", descriptor);
    await store.setRef("cache/key", descriptor);
    assert.deepEqual(await store.getRef("docker.io/library/app:1"), descriptor);
    assert.equal(await store.getRef("unknown"), undefined);
    const names = (await store.listRefs()).map((r) => r.name);
    assert.ok(names.includes("cache/key") && names.includes("docker.io/library/app:1"));
    assert.equal(await store.deleteRef("cache/key"), true);
    assert.equal(await store.deleteRef("cache/key"), false);
    assert.equal(await store.getRef("cache/key"), undefined);
  });
});

describe("state directory", () => {
  test("POLYARCH_ROOT wins, then XDG_DATA_HOME, then ~/.local/share", () => {
    assert.equal(defaultStateDir({ POLYARCH_ROOT: "/srv/pa", XDG_DATA_HOME: "/x", HOME: "/h" }), "/srv/pa");
    assert.equal(defaultStateDir({ XDG_DATA_HOME: "/x", HOME: "/h" }), "/x/polyarch");
    assert.equal(defaultStateDir({ XDG_DATA_HOME: "relative", HOME: "/h" }), "/h/.local/share/polyarch");
    assert.equal(defaultStateDir({ HOME: "/h" }), "/h/.local/share/polyarch");
    assert.equal(defaultContentRoot({ POLYARCH_ROOT: "/srv/pa" }), "/srv/pa/content");
  });
});
