import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { link, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { buildWithBuildKit } from "../../../src/buildkit/build.ts";
import { type LocalContentStore, openContentStore } from "../../../src/content/index.ts";
import { UserError } from "../../../src/errors/user-error.ts";
import type { ImageConfig } from "../../../src/oci/image-config.ts";
import { parseAnyManifest } from "../../../src/oci/manifest.ts";
import type { ProgressEvent } from "../../../src/progress/events.ts";
import { startBuildKit } from "../../harness/buildkit.ts";
import { run } from "../../harness/exec.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { fileInLayer, layerFiles, layerXattrs, unpackOciTar, writeContext } from "./support.ts";

// Builds through polyarch's BuildKit client on a real buildkitd, the image coming back as an OCI archive
// into polyarch's content store, checked against what buildctl gets from the same daemon.
let reg: TestRegistry;
let bk: Awaited<ReturnType<typeof startBuildKit>>;
let base: string;
let store: LocalContentStore;
before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
  bk = await startBuildKit([reg.host]);
  store = await openContentStore(await mkdtemp(join(tmpdir(), "polyarch-bk-store-")));
});
after(async () => {
  await bk?.stop();
  await reg?.stop();
});

const buildctl = (...args: string[]) =>
  run(join(bk.state, "bin", "buildctl"), ["--addr", bk.address, ...args], { timeoutMs: 300_000 });

async function manifestOf(digest: string) {
  const m = parseAnyManifest(await store.readBytes(digest as never), undefined, digest);
  assert.equal(m.kind, "manifest");
  return m.manifest;
}

// A rebuild (buildctl --no-cache) writes new mtimes, so layer digests differ; files are compared instead.
function comparable(config: ImageConfig): unknown {
  const {
    created: _created,
    rootfs: _rootfs,
    history,
    ...rest
  } = config as ImageConfig & { history?: { created?: string }[] };
  return { ...rest, history: history?.map(({ created: _c, ...h }) => h) };
}

test("a Dockerfile built for linux/arm64 comes back as OCI into our store, equal to buildctl's image", async () => {
  const ctx = await writeContext({
    Dockerfile: [
      `FROM ${base} AS app`,
      "ARG GREETING=hi",
      "ENV GREETING=$GREETING",
      "WORKDIR /app",
      "COPY hello.txt .",
      'RUN uname -m > /app/arch && echo "$GREETING" > /app/greeting',
      'CMD ["cat", "/app/arch"]',
      "FROM scratch AS other",
      "COPY hello.txt /",
      "",
    ].join("\n"),
    "hello.txt": "hello from the context\n",
  });
  const events: ProgressEvent[] = [];
  const result = await buildWithBuildKit({
    node: "bk-arm64",
    endpoint: { address: bk.address },
    contextDir: ctx,
    platforms: [{ os: "linux", architecture: "arm64" }],
    buildArgs: { GREETING: "hello" },
    target: "app",
    output: { type: "oci", store },
    progress: { emit: (e) => events.push(e), close: async () => {} },
  });
  assert.equal(result.oci!.images.length, 1);
  const image = result.oci!.images[0]!;
  assert.equal(image.platform?.architecture, "arm64");
  const manifest = await manifestOf(image.digest);
  const config = JSON.parse((await store.readBytes(manifest.config.digest)).toString()) as ImageConfig;
  assert.equal(config.architecture, "arm64");
  const top = await store.readBytes(manifest.layers.at(-1)!.digest, 1 << 30);
  assert.equal(await fileInLayer(top, "app/arch"), "aarch64\n");

  // Progress: the daemon's steps, marked with the node's name.
  const started = events.filter((e) => e.type === "vertex.start").map((e) => (e as { name: string }).name);
  assert.ok(
    started.some((n) => n.startsWith("[bk-arm64] [app 4/4] RUN uname -m")),
    started.join("\n"),
  );
  assert.ok(events.some((e) => e.type === "vertex.done"));

  // buildctl, rebuilding every step, gives the same config and the same files.
  const tar = join(bk.state, "buildctl-arm64.tar");
  const r = await buildctl(
    "build",
    "--frontend",
    "dockerfile.v0",
    "--local",
    `context=${ctx}`,
    "--local",
    `dockerfile=${ctx}`,
    "--opt",
    "platform=linux/arm64",
    "--opt",
    "build-arg:GREETING=hello",
    "--opt",
    "target=app",
    "--no-cache",
    "--output",
    `type=oci,dest=${tar}`,
  );
  assert.equal(r.code, 0, r.stderr);
  const blob = await unpackOciTar(tar);
  const index = JSON.parse(
    (
      await blob(JSON.parse((await run("tar", ["-xOf", tar, "index.json"])).stdout).manifests[0].digest)
    ).toString(),
  );
  const theirManifest = index.layers ? index : JSON.parse((await blob(index.manifests[0].digest)).toString());
  const theirConfig = JSON.parse((await blob(theirManifest.config.digest)).toString()) as ImageConfig;
  assert.deepEqual(comparable(config), comparable(theirConfig));
  assert.equal(manifest.layers.length, theirManifest.layers.length);
  for (let i = 0; i < manifest.layers.length; i++) {
    const ours = await layerFiles(await store.readBytes(manifest.layers[i]!.digest, 1 << 30));
    const theirs = await layerFiles(await blob(theirManifest.layers[i].digest));
    assert.deepEqual(ours.files, theirs.files, `layer ${i}`);
  }
});

test("a hard link in the context stays a hard link in the image, as buildctl makes it", async () => {
  const ctx = await writeContext({ Dockerfile: "FROM scratch\nCOPY . /ctx/\n", "a.bin": "linked twice\n" });
  await link(join(ctx, "a.bin"), join(ctx, "b.bin"));
  const result = await buildWithBuildKit({
    node: "bk",
    endpoint: { address: bk.address },
    contextDir: ctx,
    platforms: [{ os: "linux", architecture: "amd64" }],
    output: { type: "oci", store },
  });
  assert.ok(!result.sync.get("context")!.paths.includes("b.bin"), "the link's bytes were sent again");
  const m = await manifestOf(result.oci!.images[0]!.digest);
  const ours = (await layerFiles(await store.readBytes(m.layers[0]!.digest))).files;
  const tar = join(bk.state, "buildctl-hardlink.tar");
  const r = await buildctl(
    "build",
    "--frontend",
    "dockerfile.v0",
    "--local",
    `context=${ctx}`,
    "--local",
    `dockerfile=${ctx}`,
    "--no-cache",
    "--output",
    `type=oci,dest=${tar}`,
  );
  assert.equal(r.code, 0, r.stderr);
  const blob = await unpackOciTar(tar);
  const top = JSON.parse((await run("tar", ["-xOf", tar, "index.json"])).stdout).manifests[0];
  const manifest = JSON.parse((await blob(top.digest)).toString());
  const theirs = (await layerFiles(await blob(manifest.layers[0].digest))).files;
  assert.deepEqual(ours, theirs);
  assert.equal(ours.find((f) => f.path === "ctx/b.bin")?.type, "hardlink");
});

// fsutil sends a file's xattrs with its stat; what the image keeps of them is BuildKit's COPY's choice, so
// the check is that polyarch's client gives the same layer as buildctl's.
test("a context file with a capability gives the layer buildctl's client gives", async () => {
  const ctx = await writeContext({ Dockerfile: "FROM scratch\nCOPY tool /tool\n", tool: "#!/bin/sh\n" });
  const r0 = await run("setcap", ["cap_net_bind_service=+ep", join(ctx, "tool")]);
  assert.equal(r0.code, 0, r0.stderr);
  const result = await buildWithBuildKit({
    node: "bk",
    endpoint: { address: bk.address },
    contextDir: ctx,
    platforms: [{ os: "linux", architecture: "amd64" }],
    output: { type: "oci", store },
  });
  const m = await manifestOf(result.oci!.images[0]!.digest);
  const ours = await layerXattrs(await store.readBytes(m.layers[0]!.digest));
  const tar = join(bk.state, "buildctl-xattr.tar");
  const r = await buildctl(
    "build",
    "--frontend",
    "dockerfile.v0",
    "--local",
    `context=${ctx}`,
    "--local",
    `dockerfile=${ctx}`,
    "--no-cache",
    "--output",
    `type=oci,dest=${tar}`,
  );
  assert.equal(r.code, 0, r.stderr);
  const blob = await unpackOciTar(tar);
  const top = JSON.parse((await run("tar", ["-xOf", tar, "index.json"])).stdout).manifests[0];
  const manifest = JSON.parse((await blob(top.digest)).toString());
  const theirs = await layerXattrs(await blob(manifest.layers[0].digest));
  assert.deepEqual(ours, theirs);
});

test("two platforms come back as one index whose manifests are each in the store", async () => {
  const ctx = await writeContext({
    Dockerfile: `FROM ${base}\nRUN uname -m > /arch\n`,
  });
  const result = await buildWithBuildKit({
    node: "bk",
    endpoint: { address: bk.address },
    contextDir: ctx,
    platforms: [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64" },
    ],
    output: { type: "oci", store },
  });
  const oci = result.oci!;
  assert.equal(oci.root.mediaType, "application/vnd.oci.image.index.v1+json");
  const arches = oci.images.map((d) => d.platform?.architecture).sort();
  assert.deepEqual(arches, ["amd64", "arm64"]);
  for (const d of oci.images) {
    const m = await manifestOf(d.digest);
    const arch = await fileInLayer(await store.readBytes(m.layers.at(-1)!.digest, 1 << 30), "arch");
    assert.equal(arch, d.platform?.architecture === "arm64" ? "aarch64\n" : "x86_64\n");
  }
});

test("a secret reaches the RUN step on the daemon and no layer, config or log", async () => {
  const secret = "s3cr3t-Value-9f2c";
  const ctx = await writeContext({
    Dockerfile: [
      `FROM ${base}`,
      // The Dockerfile must not hold the secret itself (history records RUN lines): compare digests.
      "RUN --mount=type=secret,id=tok sha256sum /run/secrets/tok | cut -d' ' -f1 > /seen",
      "",
    ].join("\n"),
  });
  const dir = await mkdtemp(join(tmpdir(), "polyarch-bk-secret-"));
  await writeFile(join(dir, "tok"), secret);
  const logs: string[] = [];
  const result = await buildWithBuildKit({
    node: "bk",
    endpoint: { address: bk.address },
    contextDir: ctx,
    platforms: [{ os: "linux", architecture: "arm64" }],
    secrets: new Map([["tok", { file: join(dir, "tok") }]]),
    output: { type: "oci", store },
    progress: {
      emit: (e) => {
        if (e.type === "vertex.log") logs.push(Buffer.from(e.data).toString());
        if ("name" in e) logs.push(String(e.name));
      },
      close: async () => {},
    },
  });
  const m = await manifestOf(result.oci!.images[0]!.digest);
  const top = await store.readBytes(m.layers.at(-1)!.digest, 1 << 30);
  assert.equal(await fileInLayer(top, "seen"), `${createHash("sha256").update(secret).digest("hex")}\n`);
  for (const layer of m.layers) {
    const { raw } = await layerFiles(await store.readBytes(layer.digest, 1 << 30));
    assert.ok(!raw.includes(secret), `layer ${layer.digest} holds the secret`);
  }
  assert.ok(!(await store.readBytes(m.config.digest)).includes(secret));
  assert.ok(!logs.join("").includes(secret));
});

test("a missing secret fails the build with the daemon's error, naming the node", async () => {
  const ctx = await writeContext({
    Dockerfile: `FROM ${base}\nRUN --mount=type=secret,id=absent,required=true cat /run/secrets/absent\n`,
  });
  await assert.rejects(
    buildWithBuildKit({
      node: "bk-err",
      endpoint: { address: bk.address },
      contextDir: ctx,
      platforms: [{ os: "linux", architecture: "amd64" }],
      output: { type: "oci", store },
    }),
    (e: Error) => {
      assert.match(e.message, /^BuildKit node bk-err \(unix:\/\/.*\): .*secret absent/);
      return true;
    },
  );
});

test("a context change sends only the changed file on the next build", async () => {
  const ctx = await writeContext({
    Dockerfile: `FROM ${base}\nCOPY . /ctx/\n`,
    "a.txt": "a".repeat(10_000),
    "b.txt": "b".repeat(2000),
    "sub/c.txt": "c".repeat(30_000),
  });
  // The daemon's own count of what it received for the context ("transferring context: N B").
  const build = async () => {
    const vertices = new Map<string, string>();
    let received = 0;
    const result = await buildWithBuildKit({
      node: "bk",
      endpoint: { address: bk.address },
      contextDir: ctx,
      platforms: [{ os: "linux", architecture: "amd64" }],
      output: { type: "oci", store },
      progress: {
        emit: (e) => {
          if (e.type === "vertex.start") vertices.set(e.id, e.name);
          if (e.type === "vertex.status" && vertices.get(e.id)?.endsWith("load build context"))
            received = Math.max(received, e.current ?? 0);
        },
        close: async () => {},
      },
    });
    return { result, received };
  };
  const first = await build();
  const sent1 = first.result.sync.get("context")!;
  assert.deepEqual([...sent1.paths].sort(), ["Dockerfile", "a.txt", "b.txt", "sub/c.txt"]);
  await writeFile(join(ctx, "b.txt"), "B".repeat(2500));
  const second = await build();
  const sent2 = second.result.sync.get("context")!;
  assert.deepEqual(sent2.paths, ["b.txt"]);
  assert.equal(sent2.bytes, 2500);
  assert.ok(first.received > 42_000, `the daemon got ${first.received} B the first time`);
  assert.ok(
    second.received >= 2500 && second.received < 5000,
    `the daemon got ${second.received} B after one 2500 B file changed`,
  );
  const m = await manifestOf(second.result.oci!.images[0]!.digest);
  const top = await store.readBytes(m.layers.at(-1)!.digest, 1 << 30);
  assert.equal(await fileInLayer(top, "ctx/b.txt"), "B".repeat(2500));
  assert.equal(await fileInLayer(top, "ctx/sub/c.txt"), "c".repeat(30_000));
});

test(".dockerignore and a named local context reach the daemon as buildx sends them", async () => {
  const extra = await writeContext({ "lib.txt": "from the named context\n" });
  const ctx = await writeContext({
    Dockerfile: "FROM scratch\nCOPY . /ctx/\nCOPY --from=extra lib.txt /lib.txt\n",
    ".dockerignore": "secret.txt\n",
    "kept.txt": "kept\n",
    "secret.txt": "must not be sent\n",
  });
  const result = await buildWithBuildKit({
    node: "bk",
    endpoint: { address: bk.address },
    contextDir: ctx,
    platforms: [{ os: "linux", architecture: "amd64" }],
    namedContexts: { extra },
    output: { type: "oci", store },
  });
  assert.ok(!result.sync.get("context")!.paths.includes("secret.txt"));
  const m = await manifestOf(result.oci!.images[0]!.digest);
  const files = (await layerFiles(await store.readBytes(m.layers[0]!.digest, 1 << 30))).files.map(
    (f) => f.path,
  );
  assert.ok(files.includes("ctx/kept.txt") && !files.includes("ctx/secret.txt"), files.join(","));
  assert.equal(
    await fileInLayer(await store.readBytes(m.layers[1]!.digest), "lib.txt"),
    "from the named context\n",
  );
});

test("a push output is pushed by the daemon, with a registry cache exported beside it", async () => {
  const ctx = await writeContext({ Dockerfile: `FROM ${base}\nRUN echo pushed > /p\n` });
  const name = `${reg.host}/bk/pushed:1`;
  const result = await buildWithBuildKit({
    node: "bk",
    endpoint: { address: bk.address },
    contextDir: ctx,
    platforms: [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64" },
    ],
    cacheTo: [{ type: "registry", attrs: { ref: `${reg.host}/bk/cache:1`, mode: "max" } }],
    output: { type: "push", name },
  });
  assert.match(result.pushed!.digest, /^sha256:[0-9a-f]{64}$/);
  const raw = await run("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${name}`]);
  assert.equal(raw.code, 0, raw.stderr);
  const index = JSON.parse(raw.stdout) as { manifests: { platform: { architecture: string } }[] };
  assert.deepEqual(
    index.manifests
      .map((m) => m.platform.architecture)
      .filter((a) => a !== "unknown")
      .sort(),
    ["amd64", "arm64"],
  );
  assert.equal(`sha256:${createHash("sha256").update(raw.stdout).digest("hex")}`, result.pushed!.digest);
  const cache = await run("skopeo", [
    "inspect",
    "--raw",
    ...reg.skopeoFlags(),
    `docker://${reg.host}/bk/cache:1`,
  ]);
  assert.equal(cache.code, 0, cache.stderr);
});

test("a failing RUN step is the daemon's error with the Dockerfile line it came from", async () => {
  const ctx = await writeContext({
    Dockerfile: `FROM ${base}\nWORKDIR /w\nRUN echo about to fail && exit 3\n`,
  });
  await assert.rejects(
    buildWithBuildKit({
      node: "bk-fail",
      endpoint: { address: bk.address },
      contextDir: ctx,
      platforms: [{ os: "linux", architecture: "arm64" }],
      output: { type: "oci", store },
    }),
    (e: unknown) => {
      assert.ok(e instanceof UserError, String(e));
      assert.match(e.message, /^BuildKit node bk-fail \(unix:.*\): .*exit code: 3/);
      assert.deepEqual(e.location, {
        file: join(ctx, "Dockerfile"),
        line: 3,
        column: 1,
        source: "RUN echo about to fail && exit 3",
      });
      return true;
    },
  );
});

test("push by digest leaves no tag: the image is reachable only by the digest returned", async () => {
  const ctx = await writeContext({ Dockerfile: `FROM ${base}\nRUN echo by-digest > /d\n` });
  const repo = `${reg.host}/bk/bydigest`;
  const result = await buildWithBuildKit({
    node: "bk",
    endpoint: { address: bk.address },
    contextDir: ctx,
    platforms: [{ os: "linux", architecture: "arm64" }],
    output: { type: "push", name: repo, pushByDigest: true },
  });
  const digest = result.pushed!.digest;
  const byDigest = await run("skopeo", [
    "inspect",
    "--raw",
    ...reg.skopeoFlags(),
    `docker://${repo}@${digest}`,
  ]);
  assert.equal(byDigest.code, 0, byDigest.stderr);
  assert.equal(`sha256:${createHash("sha256").update(byDigest.stdout).digest("hex")}`, digest);
  const tags = await run("skopeo", ["list-tags", ...reg.skopeoFlags(), `docker://${repo}`]);
  const listed = tags.code === 0 ? (JSON.parse(tags.stdout) as { Tags: string[] | null }).Tags : null;
  assert.deepEqual(listed ?? [], []);
});
