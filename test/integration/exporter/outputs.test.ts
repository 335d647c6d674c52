// The exporter's outputs, read back by independent tools: skopeo, umoci, GNU tar, a real registry.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { type ContentStore, openContentStore } from "../../../src/content/index.ts";
import { type BuiltImage, type BuiltLayer, exportImages, parseOutputs } from "../../../src/exporter/index.ts";
import { digestOf } from "../../../src/oci/digest.ts";
import type { ImageConfig } from "../../../src/oci/image-config.ts";
import { parseIndex, parseManifest } from "../../../src/oci/manifest.ts";
import { MediaType } from "../../../src/oci/media-types.ts";
import type { Platform } from "../../../src/oci/platform.ts";
import { applyLayer } from "../../../src/worker/layer/apply-layer.ts";
import { run, runOk } from "../../harness/exec.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";

const platforms: Platform[] = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64" },
];
const epoch = 1_700_000_000;

let dir: string;
let store: ContentStore;
let images: BuiltImage[];

/** A gzip layer made with tar-stream and zlib (not polyarch's writer), stored as the solver would. */
async function layer(files: Record<string, string>, mtime: Date): Promise<BuiltLayer> {
  const pack = tar.pack();
  const dirs = new Set<string>();
  for (const name of Object.keys(files).sort()) {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      if (dirs.has(d)) continue;
      dirs.add(d);
      pack.entry({ name: `${d}/`, type: "directory", mode: 0o755, mtime, uid: 0, gid: 0 });
    }
    pack.entry({ name, mode: 0o644, mtime, uid: 0, gid: 0 }, files[name]!);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
  const raw = Buffer.concat(chunks);
  const info = await store.write(undefined, gzipSync(raw));
  return {
    descriptor: { mediaType: MediaType.ociLayerGzip, digest: info.digest, size: info.size },
    diffId: digestOf(raw),
  };
}

function config(p: Platform, base: BuiltLayer): ImageConfig {
  return {
    architecture: p.architecture,
    os: p.os,
    config: { Env: ["PATH=/usr/bin:/bin"], Cmd: ["/bin/hello"] },
    rootfs: { type: "layers", diff_ids: [base.diffId] },
    history: [
      { created: "2024-01-01T00:00:00Z", created_by: "/bin/sh -c #(nop) ADD file:base in / " },
      { created_by: "COPY hello.txt /etc/ # buildkit", comment: "buildkit.dockerfile.v0" },
    ],
  };
}

const unpackLayer = async (blob: Readable, into: string) => {
  await applyLayer(blob, { root: into });
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-exporter-it-"));
  store = await openContentStore(join(dir, "state", "content"));
  images = [];
  for (const p of platforms) {
    const base = await layer(
      { "bin/hello": `#!/bin/sh\necho ${p.architecture}\n` },
      new Date("2024-01-01T00:00:00Z"),
    );
    // File times after the epoch: rewrite-timestamp has something to clamp.
    const added = await layer(
      { "etc/hello.txt": `hello from ${p.architecture}\n` },
      new Date("2025-06-01T00:00:00Z"),
    );
    images.push({ platform: p, config: config(p, base), baseLayers: [base], layers: [added] });
  }
});
after(() => rm(dir, { recursive: true, force: true }));

function outputs(output: string[], more: { tags?: string[]; push?: boolean } = {}) {
  return parseOutputs({ output, tags: more.tags ?? [], push: more.push ?? false });
}

describe("type=oci", () => {
  test("skopeo reads the archive's index with both platforms; umoci unpacks each platform", async () => {
    const out = join(dir, "out.tar");
    const result = await exportImages({
      images,
      store,
      sourceDateEpoch: epoch,
      outputs: outputs([`type=oci,dest=${out},name=example.com/app:1`]),
    });
    const raw = (await runOk("skopeo", ["inspect", "--raw", `oci-archive:${out}`])).stdout;
    assert.equal(digestOf(raw), result.descriptor.digest, "the archive's root is the returned descriptor");
    const index = parseIndex(raw, "skopeo");
    assert.deepEqual(
      index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`),
      ["linux/amd64", "linux/arm64"],
    );
    for (const p of platforms) {
      const layout = join(dir, `layout-${p.architecture}`);
      await runOk("skopeo", [
        "copy",
        "--override-os",
        p.os,
        "--override-arch",
        p.architecture,
        `oci-archive:${out}`,
        `oci:${layout}:img`,
      ]);
      const bundle = join(dir, `bundle-${p.architecture}`);
      await runOk("umoci", ["unpack", "--rootless", "--image", `${layout}:img`, bundle]);
      assert.equal(
        await readFile(join(bundle, "rootfs/etc/hello.txt"), "utf8"),
        `hello from ${p.architecture}\n`,
      );
      assert.match(
        await readFile(join(bundle, "rootfs/bin/hello"), "utf8"),
        new RegExp(`echo ${p.architecture}`),
      );
      const ociConfig = JSON.parse(await readFile(join(bundle, "config.json"), "utf8"));
      assert.deepEqual(ociConfig.process.args, ["/bin/hello"]);
    }
  });

  test("with SOURCE_DATE_EPOCH and rewrite-timestamp two exports are byte-identical", async () => {
    const a = join(dir, "a.tar");
    const b = join(dir, "b.tar");
    const spec = (dest: string) => outputs([`type=oci,dest=${dest},rewrite-timestamp=true`]);
    const ra = await exportImages({
      images,
      store,
      sourceDateEpoch: epoch,
      outputs: spec(a),
      now: new Date(0),
    });
    const rb = await exportImages({ images, store, sourceDateEpoch: epoch, outputs: spec(b) });
    assert.equal(ra.descriptor.digest, rb.descriptor.digest);
    assert.ok((await readFile(a)).equals(await readFile(b)), "same archive bytes");
    const index = parseIndex(await store.readBytes(ra.descriptor.digest), "index");
    const manifest = parseManifest(await store.readBytes(index.manifests[0]!.digest), "manifest");
    const added = manifest.layers[1]!;
    assert.notEqual(added.digest, images[0]!.layers[0]!.descriptor.digest, "the new layer was rewritten");
    assert.equal(manifest.layers[0]!.digest, images[0]!.baseLayers[0]!.descriptor.digest, "the base was not");
    const listing = (await runOk("tar", ["--full-time", "--utc", "-tzvf", store.path(added.digest)])).stdout;
    assert.match(listing, /2023-11-14 22:13:20 etc\/hello.txt/);
    assert.doesNotMatch(listing, /2025-/);
  });

  test("dest=- streams the same archive to stdout", async () => {
    const file = join(dir, "file.tar");
    const spec = (dest: string) => outputs([`type=oci,dest=${dest}`]);
    await exportImages({ images, store, sourceDateEpoch: epoch, outputs: spec(file) });
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on("data", (c: Buffer) => chunks.push(c));
    await exportImages({ images, store, sourceDateEpoch: epoch, outputs: spec("-"), stdout: sink });
    assert.ok(Buffer.concat(chunks).equals(await readFile(file)));
  });

  test("tar=false writes a layout directory skopeo reads", async () => {
    const layoutDir = join(dir, "oci-dir");
    const result = await exportImages({
      images,
      store,
      sourceDateEpoch: epoch,
      outputs: outputs([`type=oci,dest=${layoutDir},tar=false`]),
    });
    const raw = (await runOk("skopeo", ["inspect", "--raw", `oci:${layoutDir}`])).stdout;
    assert.equal(digestOf(raw), result.descriptor.digest);
  });
});

describe("type=docker", () => {
  test("a docker archive of one platform: skopeo reads it through manifest.json", async () => {
    const out = join(dir, "docker.tar");
    await exportImages({
      images: [images[1]!],
      store,
      sourceDateEpoch: epoch,
      outputs: outputs([`type=docker,dest=${out}`], { tags: ["example.com/app:arm"] }),
    });
    const listing = (await runOk("tar", ["-tf", out])).stdout.split("\n");
    assert.ok(
      listing.includes("manifest.json") && listing.includes("index.json") && listing.includes("oci-layout"),
    );
    const manifestJson = JSON.parse((await runOk("tar", ["-xOf", out, "manifest.json"])).stdout);
    assert.deepEqual(manifestJson[0].RepoTags, ["example.com/app:arm"]);
    const inspected = JSON.parse((await runOk("skopeo", ["inspect", `docker-archive:${out}`])).stdout);
    assert.equal(inspected.Architecture, "arm64");
    assert.equal(inspected.Layers.length, 2);
  });

  test("several platforms are refused with a way out", async () => {
    await assert.rejects(
      exportImages({ images, store, outputs: outputs([`type=docker,dest=${join(dir, "x.tar")}`]) }),
      /type=docker holds one image/,
    );
  });
});

describe("rootfs outputs", () => {
  test("type=local writes one directory per platform", async () => {
    const dest = join(dir, "local");
    const result = await exportImages({
      images,
      store,
      unpackLayer,
      outputs: outputs([`type=local,dest=${dest}`]),
    });
    for (const p of platforms) {
      const root = join(dest, `linux_${p.architecture}`);
      assert.equal(await readFile(join(root, "etc/hello.txt"), "utf8"), `hello from ${p.architecture}\n`);
      assert.ok((await stat(join(root, "bin/hello"))).isFile());
    }
    const [local] = result.metadata["polyarch.outputs"] as { platformDirs: string[] }[];
    assert.deepEqual(local?.platformDirs, ["linux_amd64", "linux_arm64"]);
  });

  test("type=local of one platform writes into dest itself", async () => {
    const dest = join(dir, "local-one");
    await exportImages({ images: [images[0]!], store, unpackLayer, outputs: outputs([dest]) });
    assert.equal(await readFile(join(dest, "etc/hello.txt"), "utf8"), "hello from amd64\n");
  });

  test("type=tar holds the files under per-platform directories, with times clamped to SOURCE_DATE_EPOCH", async () => {
    const dest = join(dir, "rootfs.tar");
    await exportImages({
      images,
      store,
      unpackLayer,
      sourceDateEpoch: epoch,
      tempDir: join(dir, "tmp"),
      outputs: outputs([`type=tar,dest=${dest}`]),
    });
    const names = (await runOk("tar", ["-tf", dest])).stdout.trim().split("\n");
    for (const want of [
      "linux_amd64/",
      "linux_amd64/etc/hello.txt",
      "linux_arm64/bin/hello",
      "linux_arm64/etc/",
    ]) {
      assert.ok(names.includes(want), `${want} in ${names.join(" ")}`);
    }
    const content = (await runOk("tar", ["-xOf", dest, "linux_arm64/etc/hello.txt"])).stdout;
    assert.equal(content, "hello from arm64\n");
    const verbose = (await runOk("tar", ["--full-time", "--utc", "-tvf", dest, "linux_arm64/etc/hello.txt"]))
      .stdout;
    assert.match(verbose, /2023-11-14 22:13:20/, "2025 clamped to the epoch");
  });
});

describe("type=registry", () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry();
  });
  after(() => reg.stop());

  test("the tag resolves to the returned index digest and skopeo copy --all succeeds", async () => {
    const names = [reg.ref("team/app:1"), reg.ref("team/app:latest")];
    const result = await exportImages({
      images,
      store,
      sourceDateEpoch: epoch,
      outputs: outputs([], { tags: names, push: true }),
    });
    assert.equal(result.metadata["image.name"], names.join(","));
    for (const name of names) {
      const raw = (await runOk("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${name}`]))
        .stdout;
      assert.equal(digestOf(raw), result.descriptor.digest);
    }
    const copy = join(dir, "copied");
    await runOk("skopeo", [
      "copy",
      "--all",
      ...reg.skopeoFlags("src"),
      `docker://${names[0]}`,
      `oci:${copy}:x`,
    ]);
    const armConfig = JSON.parse(
      (
        await runOk("skopeo", [
          "inspect",
          "--config",
          "--override-arch",
          "arm64",
          ...reg.skopeoFlags(),
          `docker://${names[0]}`,
        ])
      ).stdout,
    );
    assert.equal(armConfig.architecture, "arm64");
    assert.equal(armConfig.history.length, 2);
  });

  test("oci-mediatypes=false pushes a Docker manifest list", async () => {
    const name = reg.ref("team/docker:1");
    const result = await exportImages({
      images,
      store,
      outputs: outputs([`type=registry,name=${name},oci-mediatypes=false`]),
    });
    const raw = (await runOk("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${name}`]))
      .stdout;
    assert.equal(JSON.parse(raw).mediaType, MediaType.dockerManifestList);
    assert.equal(digestOf(raw), result.descriptor.digest);
  });

  test("a push that fails half-way leaves no tag behind", async () => {
    const name = reg.ref("team/broken:1");
    const missing: BuiltLayer = {
      descriptor: { mediaType: MediaType.ociLayerGzip, digest: digestOf("not stored"), size: 10 },
      diffId: digestOf("not stored either"),
    };
    const broken = images.map((img) => ({ ...img, layers: [missing] }));
    await assert.rejects(
      exportImages({ images: broken, store, outputs: outputs([`type=registry,name=${name}`]) }),
      /not in the local store/,
    );
    const r = await run("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${name}`]);
    assert.notEqual(r.code, 0, "the tag does not exist");
  });
});
