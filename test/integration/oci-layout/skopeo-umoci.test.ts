// Independent tools read what polyarch writes, and polyarch reads what they write.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { openContentStore } from "../../../src/content/index.ts";
import { OciLayoutWriter, openOciLayout } from "../../../src/oci/layout/index.ts";
import { buildSampleImage, type SampleImage } from "../../unit/oci/layout/sample-image.ts";

const run = promisify(execFile);
let dir: string;
let image: SampleImage;
let layoutDir: string;
let archive: string;

async function tool(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await run(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-oci-it-"));
  image = await buildSampleImage();
  // Blobs go through the content store and reach the layout by path, as the exporter will do it.
  const store = await openContentStore(join(dir, "store"));
  const w = new OciLayoutWriter();
  for (const b of image.blobs) {
    await store.write({ digest: b.descriptor.digest, size: b.descriptor.size }, b.bytes);
    w.addBlobFile(b.descriptor, store.path(b.descriptor.digest));
  }
  w.addIndexEntry(image.index.descriptor, { imageName: "example.com/app:1" });
  // umoci 0.4 cannot pick a platform out of a nested index: give it the amd64 manifest under its own name.
  w.addIndexEntry(image.images[0]!.manifest.descriptor, { refName: "amd64" });
  layoutDir = join(dir, "layout");
  archive = join(dir, "image.tar");
  await w.writeDirectory(layoutDir);
  await w.writeTar(archive);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("skopeo reads the layout directory and the archive, byte for byte", async () => {
  const fromDir = await tool("skopeo", ["inspect", "--raw", `oci:${layoutDir}:1`]);
  assert.equal(fromDir, image.index.bytes.toString("utf8"));
  const fromTar = await tool("skopeo", ["inspect", "--raw", `oci-archive:${archive}:1`]);
  assert.equal(fromTar, image.index.bytes.toString("utf8"));
  const arm = JSON.parse(
    await tool("skopeo", [
      "inspect",
      "--override-os",
      "linux",
      "--override-arch",
      "arm64",
      `oci-archive:${archive}:1`,
    ]),
  );
  assert.equal(arm.Architecture, "arm64");
  assert.deepEqual(arm.Layers, [image.images[1]!.layer.descriptor.digest]);
});

test("umoci lists the refs and unpacks the image", async () => {
  const refs = (await tool("umoci", ["ls", "--layout", layoutDir])).trim().split("\n").sort();
  assert.deepEqual(refs, ["1", "amd64"]);
  const bundle = join(dir, "bundle");
  await tool("umoci", ["unpack", "--rootless", "--image", `${layoutDir}:amd64`, bundle]);
  assert.equal(await readFile(join(bundle, "rootfs", "hello.txt"), "utf8"), "hello from linux/amd64\n");
});

test("polyarch reads layouts skopeo wrote (directory and archive)", async () => {
  const copied = join(dir, "copied");
  await tool("skopeo", ["copy", "--all", `oci:${layoutDir}:1`, `oci:${copied}:again`]);
  const copiedTar = join(dir, "copied.tar");
  await tool("skopeo", ["copy", "--all", `oci:${layoutDir}:1`, `oci-archive:${copiedTar}:again`]);
  for (const location of [copied, copiedTar]) {
    const layout = await openOciLayout(location);
    const top = layout.resolve("again");
    assert.equal(top.digest, image.index.descriptor.digest);
    const index = await layout.readManifest(top);
    assert.equal(index.kind, "index");
    if (index.kind !== "index") continue;
    for (const entry of index.index.manifests) {
      const m = await layout.readManifest(entry);
      assert.equal(m.kind, "manifest");
      if (m.kind !== "manifest") continue;
      for (const blob of [m.manifest.config, ...m.manifest.layers]) {
        const expected = image.blobs.find((b) => b.descriptor.digest === blob.digest)!;
        const chunks: Buffer[] = [];
        for await (const c of await layout.readStream(blob)) chunks.push(c as Buffer);
        assert.deepEqual(Buffer.concat(chunks), expected.bytes);
      }
    }
  }
});
