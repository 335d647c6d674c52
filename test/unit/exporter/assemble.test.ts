import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import type { ContentStore } from "../../../src/content/index.ts";
import { UserError } from "../../../src/errors/user-error.ts";
import {
  type BuiltImage,
  type ExportRequest,
  exportImages,
  type OutputSpec,
  parseOutputs,
} from "../../../src/exporter/index.ts";
import { findImage, listImages } from "../../../src/images/image-store.ts";
import type { Descriptor } from "../../../src/oci/descriptor.ts";
import { digestOf } from "../../../src/oci/digest.ts";
import { parseImageConfig } from "../../../src/oci/image-config.ts";
import { parseIndex, parseManifest } from "../../../src/oci/manifest.ts";
import { MediaType } from "../../../src/oci/media-types.ts";
import { layerEntries, sampleImages, tempStore } from "./fixture.ts";

let store: ContentStore;
let cleanup: () => Promise<void>;
let images: BuiltImage[];

before(async () => {
  ({ store, cleanup } = await tempStore());
  images = await sampleImages(store, { newMtime: 1_700_000_000 });
});
after(() => cleanup());

const epoch = 1_650_000_000; // 2022-04-15T05:20:00Z
const outputs = (...o: string[]): OutputSpec[] => parseOutputs({ output: o, tags: [], push: false });

function run(extra: Partial<ExportRequest> = {}) {
  return exportImages({ images, outputs: [], store, ...extra });
}

async function indexOf(d: Descriptor) {
  return parseIndex(await store.readBytes(d.digest), "index");
}
async function manifestOf(d: Descriptor) {
  return parseManifest(await store.readBytes(d.digest), "manifest");
}
async function configOf(d: Descriptor) {
  return parseImageConfig(await store.readBytes(d.digest), "config");
}

describe("assembly", () => {
  test("two platforms give an OCI index with each manifest's platform", async () => {
    const { descriptor, metadata } = await run({ sourceDateEpoch: epoch });
    assert.equal(descriptor.mediaType, MediaType.ociIndex);
    const index = await indexOf(descriptor);
    assert.deepEqual(
      index.manifests.map((m) => [m.mediaType, m.platform]),
      [
        [MediaType.ociManifest, { os: "linux", architecture: "amd64" }],
        [MediaType.ociManifest, { os: "linux", architecture: "arm64" }],
      ],
    );
    assert.equal(metadata["containerimage.digest"], descriptor.digest);
    assert.deepEqual(metadata["containerimage.descriptor"], {
      mediaType: descriptor.mediaType,
      digest: descriptor.digest,
      size: descriptor.size,
    });
    assert.equal(metadata["containerimage.config.digest"], undefined, "no single config for an index");
  });

  test("config: platform, diff_ids base then new in order, history times from SOURCE_DATE_EPOCH", async () => {
    const { descriptor } = await run({ sourceDateEpoch: epoch });
    const index = await indexOf(descriptor);
    for (const [i, entry] of index.manifests.entries()) {
      const manifest = await manifestOf(entry);
      const image = images[i]!;
      const all = [...image.baseLayers, ...image.layers];
      assert.deepEqual(
        manifest.layers.map((l) => l.digest),
        all.map((l) => l.descriptor.digest),
      );
      assert.equal(manifest.config.mediaType, MediaType.ociConfig);
      const config = await configOf(manifest.config);
      assert.equal(config.architecture, image.platform.architecture);
      assert.equal(config.os, "linux");
      assert.deepEqual(
        config.rootfs.diff_ids,
        all.map((l) => l.diffId),
      );
      assert.equal(config.created, "2022-04-15T05:20:00Z");
      assert.deepEqual(
        config.history?.map((h) => h.created),
        ["2023-01-01T00:00:00Z", "2023-01-01T00:00:01Z", ...Array(3).fill("2022-04-15T05:20:00Z")],
        "base entries keep their times; new ones get the epoch",
      );
      assert.equal(config.history?.[3]?.created_by, "ENV A=1");
      assert.equal(config.history?.[3]?.empty_layer, true);
    }
  });

  test("same inputs and SOURCE_DATE_EPOCH give the same index digest, whatever the clock says", async () => {
    const a = await run({ sourceDateEpoch: epoch, now: new Date("2030-01-01T00:00:00Z") });
    const b = await run({ sourceDateEpoch: epoch, now: new Date("2031-06-01T12:00:00Z") });
    assert.equal(a.descriptor.digest, b.descriptor.digest);
    const other = await tempStore();
    try {
      const again = await sampleImages(other.store, { newMtime: 1_700_000_000 });
      const c = await exportImages({
        images: again,
        outputs: [],
        store: other.store,
        sourceDateEpoch: epoch,
      });
      assert.equal(c.descriptor.digest, a.descriptor.digest, "a fresh store gives the same bytes");
    } finally {
      await other.cleanup();
    }
  });

  test("without SOURCE_DATE_EPOCH new entries and the config get the export time", async () => {
    const now = new Date("2030-01-02T03:04:05.678Z");
    const { descriptor } = await run({ now });
    const index = await indexOf(descriptor);
    const config = await configOf((await manifestOf(index.manifests[0]!)).config);
    assert.equal(config.created, "2030-01-02T03:04:05.678Z");
    assert.equal(config.history?.[0]?.created, "2023-01-01T00:00:00Z");
    assert.equal(config.history?.[4]?.created, "2030-01-02T03:04:05.678Z");
    const later = await run({ now: new Date("2030-01-02T03:04:06Z") });
    assert.notEqual(later.descriptor.digest, descriptor.digest);
  });

  test("oci-mediatypes=false gives Docker's manifest list, manifests, config and layer types", async () => {
    const { descriptor } = await run({
      outputs: outputs("type=image,oci-mediatypes=false"),
      sourceDateEpoch: epoch,
    });
    assert.equal(descriptor.mediaType, MediaType.dockerManifestList);
    const index = await indexOf(descriptor);
    assert.equal(index.mediaType, MediaType.dockerManifestList);
    const manifest = await manifestOf(index.manifests[1]!);
    assert.equal(index.manifests[1]!.mediaType, MediaType.dockerManifest);
    assert.equal(manifest.mediaType, MediaType.dockerManifest);
    assert.equal(manifest.config.mediaType, MediaType.dockerConfig);
    assert.deepEqual(
      manifest.layers.map((l) => l.mediaType),
      Array(3).fill(MediaType.dockerLayerGzip),
    );
  });

  test("one platform gives a manifest (and the config digest); multi-platform forces an index of one", async () => {
    const single = await exportImages({ images: [images[1]!], outputs: [], store, sourceDateEpoch: epoch });
    assert.equal(single.descriptor.mediaType, MediaType.ociManifest);
    assert.equal(single.descriptor.platform, undefined);
    const manifest = await manifestOf(single.descriptor);
    assert.equal(single.metadata["containerimage.config.digest"], manifest.config.digest);
    const forced = await exportImages({
      images: [images[1]!],
      outputs: [],
      store,
      sourceDateEpoch: epoch,
      multiPlatform: true,
    });
    const index = await indexOf(forced.descriptor);
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0]!.digest, single.descriptor.digest);
    assert.deepEqual(index.manifests[0]!.platform, { os: "linux", architecture: "arm64" });
  });

  test("the platform's variant reaches the config and the index entry; progress is reported", async () => {
    const armv7: BuiltImage = { ...images[0]!, platform: { os: "linux", architecture: "arm" } };
    const events: string[] = [];
    const { descriptor } = await exportImages({
      images: [images[0]!, armv7],
      outputs: [],
      store,
      sourceDateEpoch: epoch,
      onProgress: (e) => events.push(`${e.status} ${e.name}`),
    });
    const index = await indexOf(descriptor);
    assert.deepEqual(index.manifests[1]!.platform, { os: "linux", architecture: "arm", variant: "v7" });
    const config = await configOf((await manifestOf(index.manifests[1]!)).config);
    assert.equal(config.architecture, "arm");
    assert.equal(config.variant, "v7");
    assert.ok(events.includes(`start exporting manifest list ${descriptor.digest}`));
    assert.ok(events.includes(`done exporting manifest list ${descriptor.digest}`));
  });

  test("annotations go where BuildKit puts them", async () => {
    const { descriptor } = await run({
      sourceDateEpoch: epoch,
      outputs: outputs(
        "type=image,annotation.title=App,annotation-manifest[linux/arm64].only=arm,annotation-index.idx=1,annotation-manifest-descriptor.desc=d,annotation-index-descriptor.root=r",
      ),
    });
    assert.deepEqual(descriptor.annotations, { root: "r" });
    const index = await indexOf(descriptor);
    assert.deepEqual(index.annotations, { idx: "1" });
    assert.deepEqual(index.manifests[0]!.annotations, { desc: "d" });
    assert.deepEqual((await manifestOf(index.manifests[0]!)).annotations, { title: "App" });
    assert.deepEqual((await manifestOf(index.manifests[1]!)).annotations, { only: "arm", title: "App" });
  });

  test("type=image without push keeps the image in the store under its names", async () => {
    const { descriptor, metadata } = await run({
      sourceDateEpoch: epoch,
      outputs: parseOutputs({ output: [], tags: ["app:1", "reg.io/team/app:2"], push: false }),
    });
    assert.deepEqual((await findImage(store, "app:1"))?.descriptor, descriptor);
    assert.deepEqual((await findImage(store, "reg.io/team/app:2"))?.descriptor, descriptor);
    assert.deepEqual(
      (await listImages(store)).map((i) => i.name),
      ["docker.io/library/app:1", "reg.io/team/app:2"],
    );
    // Kept apart from the store's other refs: a user's name can never be taken for a cache record.
    assert.equal(await store.getRef("docker.io/library/app:1"), undefined);
    assert.equal(metadata["image.name"], "docker.io/library/app:1,reg.io/team/app:2");
    const [out] = metadata["polyarch.outputs"] as { type: string; stored: string[]; note: string }[];
    assert.equal(out?.type, "image");
    assert.match(out?.note ?? "", /image store/);
  });

  test("inconsistent input is refused", async () => {
    const broken: BuiltImage = { ...images[0]!, layers: images[0]!.layers.slice(0, 1) };
    await assert.rejects(
      exportImages({ images: [broken], outputs: [], store }),
      /2 non-empty history entries/,
    );
    await assert.rejects(
      exportImages({ images, outputs: outputs("type=image,rewrite-timestamp=true"), store }),
      (e: unknown) => e instanceof UserError && /needs SOURCE_DATE_EPOCH/.test(e.message),
    );
  });
});

describe("layer conversion", () => {
  test("rewrite-timestamp clamps new layers' file times and recomputes digests; base layers stay", async () => {
    const clampTo = 1_500_000_000; // earlier than every file, base included
    const { descriptor } = await run({
      sourceDateEpoch: clampTo,
      outputs: outputs("type=image,rewrite-timestamp=true"),
    });
    const index = await indexOf(descriptor);
    const manifest = await manifestOf(index.manifests[0]!);
    const config = await configOf(manifest.config);
    const image = images[0]!;
    assert.equal(manifest.layers[0]!.digest, image.baseLayers[0]!.descriptor.digest, "base layer untouched");
    assert.equal(config.rootfs.diff_ids[0], image.baseLayers[0]!.diffId);
    for (const [i, layer] of manifest.layers.slice(1).entries()) {
      assert.notEqual(layer.digest, image.layers[i]!.descriptor.digest);
      const entries = await layerEntries(store, layer.digest);
      assert.ok(entries.length > 0);
      for (const e of entries) assert.equal(e.mtime, clampTo, `${e.name} clamped`);
      const tar = gunzipSync(await store.readBytes(layer.digest));
      assert.equal(config.rootfs.diff_ids[i + 1], digestOf(tar), "diff_id is the new tar's digest");
    }
    const again = await run({
      sourceDateEpoch: clampTo,
      outputs: outputs("type=image,rewrite-timestamp=true"),
    });
    assert.equal(again.descriptor.digest, descriptor.digest, "a second export gives the same bytes");
  });

  test("rewrite-timestamp leaves layers whose files are not newer than the epoch as they are", async () => {
    const { descriptor } = await run({
      sourceDateEpoch: 1_800_000_000,
      outputs: outputs("type=image,rewrite-timestamp=true"),
    });
    const manifest = await manifestOf((await indexOf(descriptor)).manifests[1]!);
    const image = images[1]!;
    assert.deepEqual(
      manifest.layers.map((l) => l.digest),
      [...image.baseLayers, ...image.layers].map((l) => l.descriptor.digest),
    );
  });

  test("compression=zstd recompresses new layers (diff_ids unchanged); force-compression the base too", async () => {
    const { descriptor } = await run({
      sourceDateEpoch: epoch,
      outputs: outputs("type=image,compression=zstd"),
    });
    const manifest = await manifestOf((await indexOf(descriptor)).manifests[0]!);
    assert.deepEqual(
      manifest.layers.map((l) => l.mediaType),
      [MediaType.ociLayerGzip, MediaType.ociLayerZstd, MediaType.ociLayerZstd],
    );
    const head = (await store.readBytes(manifest.layers[1]!.digest)).subarray(0, 4);
    assert.deepEqual([...head], [0x28, 0xb5, 0x2f, 0xfd]);
    const config = await configOf(manifest.config);
    assert.deepEqual(
      config.rootfs.diff_ids,
      [...images[0]!.baseLayers, ...images[0]!.layers].map((l) => l.diffId),
    );
    const forced = await run({
      sourceDateEpoch: epoch,
      outputs: outputs("type=image,compression=uncompressed,force-compression=true"),
    });
    const plain = await manifestOf((await indexOf(forced.descriptor)).manifests[0]!);
    assert.deepEqual(
      plain.layers.map((l) => l.mediaType),
      Array(3).fill(MediaType.ociLayer),
    );
    assert.equal(
      plain.layers[0]!.digest,
      images[0]!.baseLayers[0]!.diffId,
      "an uncompressed layer's digest is its diff_id",
    );
  });
});
