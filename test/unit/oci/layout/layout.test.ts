import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import tar from "tar-stream";
import { DigestMismatchError, digestOf } from "../../../../src/oci/digest.ts";
import {
  OciLayoutWriter,
  openOciLayout,
  refNameAnnotation,
  refNameOf,
} from "../../../../src/oci/layout/index.ts";
import { parseIndex } from "../../../../src/oci/manifest.ts";
import { buildSampleImage, type SampleImage } from "./sample-image.ts";

let dir: string;
let image: SampleImage;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-layout-"));
  image = await buildSampleImage();
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function writerFor(img: SampleImage, imageName = "example.com/app:1"): OciLayoutWriter {
  const w = new OciLayoutWriter();
  for (const b of img.blobs) w.addBlob(b.descriptor, () => Readable.from([b.bytes]));
  w.addIndexEntry(img.index.descriptor, { imageName });
  return w;
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

describe("OCI layout directory", () => {
  test("writes oci-layout, index.json with both name annotations, and every blob", async () => {
    const out = join(dir, "plain");
    await writerFor(image).writeDirectory(out);
    assert.deepEqual(JSON.parse(await readFile(join(out, "oci-layout"), "utf8")), {
      imageLayoutVersion: "1.0.0",
    });
    const index = parseIndex(await readFile(join(out, "index.json")), "index.json");
    assert.equal(index.mediaType, "application/vnd.oci.image.index.v1+json");
    assert.deepEqual(index.manifests[0]?.annotations, {
      "io.containerd.image.name": "example.com/app:1",
      "org.opencontainers.image.ref.name": "1",
    });
    for (const b of image.blobs) {
      const bytes = await readFile(join(out, "blobs", "sha256", b.descriptor.digest.slice(7)));
      assert.equal(digestOf(bytes), b.descriptor.digest);
    }
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.includes(".tmp")),
      [],
      "no temp dir left behind",
    );
  });

  test("the reader resolves refs and reads verified blobs", async () => {
    const out = join(dir, "plain");
    const layout = await openOciLayout(out);
    assert.equal(layout.kind, "directory");
    const byRef = layout.resolve("1");
    assert.equal(byRef.digest, image.index.descriptor.digest);
    assert.equal(layout.resolve("example.com/app:1").digest, byRef.digest);
    assert.equal(layout.resolve().digest, byRef.digest, "the only entry needs no name");
    assert.throws(
      () => layout.resolve("2"),
      (e: Error & { hint?: string }) =>
        /no image named "2"/.test(e.message) && e.hint === "available refs: 1",
    );
    const parsed = await layout.readManifest(byRef);
    assert.equal(parsed.kind, "index");
    const layer = image.images[1]!.layer;
    assert.deepEqual(await collect(await layout.readStream(layer.descriptor)), layer.bytes);
    assert.deepEqual(await layout.readBytes(layer.descriptor.digest), layer.bytes);
    assert.equal(await layout.has(digestOf("absent")), false);
  });

  test("a corrupted blob fails verification when read", async () => {
    const out = join(dir, "corrupt");
    await writerFor(image).writeDirectory(out);
    const layer = image.images[0]!.layer;
    const bad = Buffer.from(layer.bytes);
    bad[bad.length - 1] = bad.at(-1)! ^ 0xff;
    await writeFile(join(out, "blobs", "sha256", layer.descriptor.digest.slice(7)), bad);
    const layout = await openOciLayout(out);
    await assert.rejects(layout.readBytes(layer.descriptor), DigestMismatchError);
    await assert.rejects(collect(await layout.readStream(layer.descriptor)), DigestMismatchError);
  });

  test("a source whose bytes do not match leaves no destination and no temp files", async () => {
    const out = join(dir, "never");
    const w = writerFor(image);
    const fake = { ...image.images[0]!.config.descriptor, digest: digestOf("other"), size: 3 };
    w.addBlob(fake, Buffer.from("abc"));
    await assert.rejects(w.writeDirectory(out), DigestMismatchError);
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith("never") || n.startsWith(".never")),
      [],
    );
  });

  test("adding to an existing layout keeps other entries and replaces the same ref name", async () => {
    const out = join(dir, "merge");
    await writerFor(image, "example.com/app:1").writeDirectory(out);
    const second = await buildSampleImage([{ os: "linux", architecture: "arm", variant: "v7" }]);
    await writerFor(second, "example.com/app:2").writeDirectory(out);
    let index = parseIndex(await readFile(join(out, "index.json")), "index.json");
    assert.deepEqual(
      index.manifests.map((d) => d.annotations?.[refNameAnnotation]),
      ["1", "2"],
    );
    // Re-using ref 1 for the second image replaces the first entry of that name.
    await writerFor(second, "example.com/app:1").writeDirectory(out);
    index = parseIndex(await readFile(join(out, "index.json")), "index.json");
    assert.deepEqual(
      index.manifests.map((d) => [d.annotations?.[refNameAnnotation], d.digest]),
      [
        ["2", second.index.descriptor.digest],
        ["1", second.index.descriptor.digest],
      ],
    );
    assert.deepEqual((await readdir(out)).sort(), ["blobs", "index.json", "oci-layout"]);
    const layout = await openOciLayout(out);
    for (const b of [...image.blobs, ...second.blobs]) assert.ok(await layout.has(b.descriptor.digest));
  });

  test("refuses a non-empty directory that is not a layout, and an index entry without its blob", async () => {
    const junk = join(dir, "junk");
    await mkdir(junk);
    await writeFile(join(junk, "file.txt"), "x");
    await assert.rejects(writerFor(image).writeDirectory(junk), /not empty and is not an OCI image layout/);

    const w = new OciLayoutWriter();
    w.addIndexEntry(image.index.descriptor, { refName: "x" });
    await assert.rejects(w.writeDirectory(join(dir, "incomplete")), /has no blob in the layout/);
  });

  test("a blob can come from a trusted file (zero-copy path)", async () => {
    const src = join(dir, "layer.bin");
    const layer = image.images[0]!.layer;
    await writeFile(src, layer.bytes);
    const w = new OciLayoutWriter();
    w.addBlobFile(layer.descriptor, src);
    w.addIndexEntry(layer.descriptor);
    const out = join(dir, "from-file");
    await w.writeDirectory(out);
    assert.deepEqual(await (await openOciLayout(out)).readBytes(layer.descriptor), layer.bytes);
  });
});

describe("OCI layout tar", () => {
  async function entriesOf(bytes: Buffer) {
    const extract = tar.extract();
    const out: {
      name: string;
      type: string;
      mode: number;
      uid: number;
      gid: number;
      mtime: number;
      uname: string;
    }[] = [];
    const done = (async () => {
      for await (const entry of extract) {
        const h = entry.header;
        out.push({
          name: h.name,
          type: h.type,
          mode: h.mode,
          uid: h.uid,
          gid: h.gid,
          mtime: h.mtime.getTime(),
          uname: h.uname,
        });
        entry.resume();
      }
    })();
    extract.end(bytes);
    await done;
    return out;
  }

  test("is deterministic: sorted entries, directories first, fixed times, numeric ids", async () => {
    const a = await collect(writerFor(image).tarStream());
    const b = await collect(writerFor(image).tarStream());
    assert.equal(createHash("sha256").update(a).digest("hex"), createHash("sha256").update(b).digest("hex"));
    const entries = await entriesOf(a);
    const names = entries.map((e) => e.name);
    const blobNames = image.blobs.map((x) => `blobs/sha256/${x.descriptor.digest.slice(7)}`).sort();
    assert.deepEqual(names, ["blobs/", "blobs/sha256/", ...blobNames, "index.json", "oci-layout"]);
    for (const e of entries) {
      assert.equal(e.mtime, 0);
      assert.equal(e.uid, 0);
      assert.equal(e.gid, 0);
      assert.equal(e.uname, "");
      assert.equal(e.mode, e.type === "directory" ? 0o755 : 0o644);
    }
    const later = await collect(writerFor(image).tarStream({ mtime: new Date(1700000000000) }));
    assert.ok((await entriesOf(later)).every((e) => e.mtime === 1700000000000));
  });

  test("writeTar writes atomically and the reader reads blobs straight from the archive", async () => {
    const file = join(dir, "image.tar");
    await writerFor(image).writeTar(file);
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith("image.tar.tmp")),
      [],
    );
    const layout = await openOciLayout(file);
    assert.equal(layout.kind, "tar");
    const entry = layout.resolve("1");
    const parsed = await layout.readManifest(entry);
    assert.equal(parsed.kind, "index");
    for (const b of image.blobs) {
      assert.deepEqual(await collect(await layout.readStream(b.descriptor)), b.bytes);
    }
  });

  test("a failing source fails the stream and leaves no tar file", async () => {
    const w = writerFor(image);
    w.addBlob({ digest: digestOf("zzz"), size: 3 }, Buffer.from("abc"));
    const file = join(dir, "broken.tar");
    await assert.rejects(w.writeTar(file), DigestMismatchError);
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith("broken.tar")),
      [],
    );
  });

  test("reads archives written by other tools: ./ prefixes, PAX paths, hard links, no end blocks", async () => {
    const layer = image.images[0]!.layer;
    const hex = layer.descriptor.digest.slice(7);
    const index = JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...layer.descriptor, annotations: { [refNameAnnotation]: "x" } }],
    });
    const pack = tar.pack();
    pack.entry({ name: "./oci-layout" }, '{"imageLayoutVersion":"1.0.0"}');
    pack.entry({ name: "./index.json", pax: { path: "./index.json", comment: "pax record" } }, index);
    pack.entry({ name: `./blobs/sha256/${hex}` }, layer.bytes);
    pack.entry({ name: "./blobs/sha256/alias", type: "link", linkname: `./blobs/sha256/${hex}` });
    pack.finalize();
    const bytes = await collect(pack as AsyncIterable<Uint8Array>);
    const file = join(dir, "foreign.tar");
    await writeFile(file, bytes.subarray(0, bytes.length - 1024)); // drop the two zero blocks
    const layout = await openOciLayout(file);
    assert.equal(layout.resolve("x").digest, layer.descriptor.digest);
    assert.deepEqual(await layout.readBytes(layer.descriptor), layer.bytes);
  });

  test("rejects files that are not layouts", async () => {
    const notTar = join(dir, "not.tar");
    await writeFile(notTar, Buffer.alloc(2048, 0x41));
    await assert.rejects(openOciLayout(notTar), /not a tar file/);
    await assert.rejects(openOciLayout(join(dir, "missing")), /does not exist/);
    const emptyDir = join(dir, "empty");
    await mkdir(emptyDir);
    await assert.rejects(openOciLayout(emptyDir), /not an OCI image layout/);
  });
});

test("refNameOf gives the tag BuildKit records as ref.name", () => {
  assert.equal(refNameOf("example.com/app:1"), "1");
  assert.equal(refNameOf("localhost:5000/app"), "latest");
  assert.equal(refNameOf("localhost:5000/app:v2"), "v2");
  assert.equal(refNameOf("app:v3@sha256:" + "a".repeat(64)), "v3");
  assert.equal(refNameOf("app@sha256:" + "a".repeat(64)), undefined);
});
