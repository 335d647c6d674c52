import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parsePlatform } from "../../../src/oci/platform.ts";
import { runOk } from "../../harness/exec.ts";
import { pushSinglePlatformImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { polyarch, tempStateRoot } from "../../support/cli.ts";

let reg: TestRegistry;
let other: TestRegistry;
let state: Awaited<ReturnType<typeof tempStateRoot>>;
const env = () => ({ POLYARCH_ROOT: state.dir, DOCKER_CONFIG: state.dir });

before(async () => {
  reg = await startRegistry();
  other = await startRegistry();
  state = await tempStateRoot();
  await pushSinglePlatformImage(reg, "app:amd64", parsePlatform("linux/amd64"), {
    extraFile: { path: "/app/which", content: "amd64 build\n" },
  });
  await pushSinglePlatformImage(reg, "other:arm64", parsePlatform("linux/arm64"), {
    extraFile: { path: "/app/which", content: "arm64 build\n" },
  });
  // The third platform lives on another registry: its blobs must be copied, not mounted.
  await pushSinglePlatformImage(other, "third:armv7", parsePlatform("linux/arm/v7"), {
    extraFile: { path: "/app/which", content: "armv7 build\n" },
  });
});
after(async () => {
  await reg?.stop();
  await other?.stop();
  await state?.[Symbol.asyncDispose]();
});

interface OciIndex {
  mediaType: string;
  manifests: { digest: string; platform?: { architecture: string; variant?: string } }[];
}

async function skopeoRaw(ref: string): Promise<OciIndex> {
  return JSON.parse(
    (await runOk("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${ref}`])).stdout,
  ) as OciIndex;
}

test("single-arch images in two repositories become one multi-arch tag", async () => {
  const r = await polyarch(
    ["imagetools", "create", "-t", reg.ref("app:1"), reg.ref("app:amd64"), reg.ref("other:arm64")],
    { env: env() },
  );
  assert.equal(r.code, 0, r.stderr);
  const index = await skopeoRaw(reg.ref("app:1"));
  assert.equal(index.mediaType, "application/vnd.oci.image.index.v1+json");
  assert.deepEqual(index.manifests.map((m) => m.platform?.architecture).sort(), ["amd64", "arm64"]);
  assert.match(
    r.stdout.trim(),
    new RegExp(`^${reg.ref("app:1").replaceAll(".", "\\.")}@sha256:[a-f0-9]{64}$`),
  );

  // skopeo copies the whole index (every blob reachable in the target repository) ...
  const dir = await mkdtemp(join(tmpdir(), "polyarch-copy-"));
  try {
    await runOk("skopeo", [
      "copy",
      "--all",
      ...reg.skopeoFlags("src"),
      `docker://${reg.ref("app:1")}`,
      `oci:${join(dir, "all")}:x`,
    ]);
    // ... and --override-arch picks the arm64 image.
    await runOk("skopeo", [
      "copy",
      "--override-arch",
      "arm64",
      ...reg.skopeoFlags("src"),
      `docker://${reg.ref("app:1")}`,
      `oci:${join(dir, "one")}:x`,
    ]);
    const idx = JSON.parse(await readFile(join(dir, "one", "index.json"), "utf8")) as {
      manifests: { digest: string }[];
    };
    const manifest = JSON.parse(
      await readFile(join(dir, "one", "blobs", "sha256", idx.manifests[0]!.digest.slice(7)), "utf8"),
    ) as { config: { digest: string } };
    const config = JSON.parse(
      await readFile(join(dir, "one", "blobs", "sha256", manifest.config.digest.slice(7)), "utf8"),
    ) as { architecture: string };
    assert.equal(config.architecture, "arm64");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("--append adds a platform from another registry and keeps the first two", async () => {
  const r = await polyarch(
    ["imagetools", "create", "--append", "-t", reg.ref("app:1"), other.ref("third:armv7")],
    {
      env: env(),
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const index = await skopeoRaw(reg.ref("app:1"));
  assert.deepEqual(
    index.manifests.map((m) => `${m.platform?.architecture}${m.platform?.variant ?? ""}`).sort(),
    ["amd64", "arm64", "armv7"],
  );
  await runOk("skopeo", [
    "copy",
    "--all",
    ...reg.skopeoFlags("src"),
    `docker://${reg.ref("app:1")}`,
    `dir:${await mkdtemp(join(tmpdir(), "polyarch-dir-"))}`,
  ]);
});

test("--dry-run prints the index and writes nothing; --platform filters an index source", async () => {
  const r = await polyarch(
    [
      "imagetools",
      "create",
      "--dry-run",
      "--platform",
      "linux/arm64",
      "-t",
      reg.ref("app:dry"),
      reg.ref("app:1"),
    ],
    { env: env() },
  );
  assert.equal(r.code, 0, r.stderr);
  const printed = JSON.parse(r.stdout) as OciIndex;
  assert.deepEqual(
    printed.manifests.map((m) => m.platform?.architecture),
    ["arm64"],
  );
  const tags = JSON.parse(
    (await runOk("skopeo", ["list-tags", ...reg.skopeoFlags(), `docker://${reg.ref("app")}`])).stdout,
  ) as { Tags: string[] };
  assert.ok(!tags.Tags.includes("dry"));
});

test("a source without the requested platform is an error naming what to do", async () => {
  const r = await polyarch(
    ["imagetools", "create", "--platform", "linux/riscv64", "-t", reg.ref("app:x"), reg.ref("app:1")],
    { env: env() },
  );
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /has no image for linux\/riscv64\nhint: it has: linux\/amd64, linux\/arm64, linux\/arm\/v7/,
  );
  const missing = await polyarch(["imagetools", "create", reg.ref("app:1")], { env: env() });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /needs a target/);
});

interface RawDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
}

async function manifestDigest(ref: string): Promise<string> {
  return (
    await runOk("skopeo", ["inspect", "--format", "{{.Digest}}", ...reg.skopeoFlags(), `docker://${ref}`])
  ).stdout.trim();
}

test("sources as buildx reads them: -f descriptor files, a bare sha256: in the target's repository, --dry-run without -t", async () => {
  const amd64 = await manifestDigest(reg.ref("app:amd64"));
  const rawAmd64 = (
    await runOk("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${reg.ref("app:amd64")}`])
  ).stdout;
  const dir = await mkdtemp(join(tmpdir(), "polyarch-create-"));
  try {
    const file = join(dir, "desc.json");
    // A descriptor adds what the registry cannot know: a platform detail and annotations for the entry.
    await writeFile(
      file,
      JSON.stringify({
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: amd64,
        size: Buffer.byteLength(rawAmd64),
        platform: { os: "linux", architecture: "amd64", "os.version": "x1" },
        annotations: { "org.example.from": "file" },
      }),
    );
    const r = await polyarch(["imagetools", "create", "-t", reg.ref("app:fromfile"), "-f", file], {
      env: env(),
    });
    assert.equal(r.code, 0, r.stderr);
    const index = (await skopeoRaw(reg.ref("app:fromfile"))) as OciIndex & { manifests: RawDescriptor[] };
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0]!.digest, amd64);
    assert.deepEqual(index.manifests[0]!.annotations, { "org.example.from": "file" });
    assert.equal((index.manifests[0]!.platform as Record<string, string>)["os.version"], "x1");

    // A wrong size is refused before anything is written.
    await writeFile(file, JSON.stringify({ digest: amd64, size: 3 }));
    const bad = await polyarch(["imagetools", "create", "-t", reg.ref("app:badsize"), "-f", file], {
      env: env(),
    });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /the descriptor says 3 bytes, the registry has \d+/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  // A bare digest is an image in the target's repository.
  const bare = await polyarch(["imagetools", "create", "-t", reg.ref("app:bare"), amd64], { env: env() });
  assert.equal(bare.code, 0, bare.stderr);
  assert.equal((await skopeoRaw(reg.ref("app:bare"))).manifests[0]!.digest, amd64);
  // With two repositories named there is no telling which one it is in.
  const unclear = await polyarch(
    ["imagetools", "create", "--dry-run", "-t", reg.ref("app:x"), reg.ref("other:arm64"), amd64],
    {
      env: env(),
    },
  );
  assert.equal(unclear.code, 1);
  assert.match(unclear.stderr, /several repositories are named/);

  // --dry-run needs no -t; it prints exactly the bytes it would push.
  const dry = await polyarch(
    ["imagetools", "create", "--dry-run", reg.ref("app:amd64"), reg.ref("other:arm64")],
    {
      env: env(),
    },
  );
  assert.equal(dry.code, 0, dry.stderr);
  const printed = JSON.parse(dry.stdout) as OciIndex;
  assert.equal(printed.manifests.length, 2);
});

test("--prefer-index: one single-platform source becomes an index by default, or a copy of its manifest with =false", async () => {
  const amd64 = await manifestDigest(reg.ref("app:amd64"));
  const wrapped = await polyarch(
    ["imagetools", "create", "-t", reg.ref("app:wrapped"), reg.ref("app:amd64")],
    {
      env: env(),
    },
  );
  assert.equal(wrapped.code, 0, wrapped.stderr);
  assert.equal(
    (await skopeoRaw(reg.ref("app:wrapped"))).mediaType,
    "application/vnd.oci.image.index.v1+json",
  );

  const copied = await polyarch(
    ["imagetools", "create", "--prefer-index=false", "-t", reg.ref("app:copied"), reg.ref("app:amd64")],
    { env: env() },
  );
  assert.equal(copied.code, 0, copied.stderr);
  assert.equal(await manifestDigest(reg.ref("app:copied")), amd64);
  assert.match(copied.stdout, new RegExp(`@${amd64}$`, "m"));

  // A single index source is copied byte for byte: the digest stays.
  const index = await manifestDigest(reg.ref("app:1"));
  const carbon = await polyarch(["imagetools", "create", "-t", reg.ref("app:carbon"), reg.ref("app:1")], {
    env: env(),
  });
  assert.equal(carbon.code, 0, carbon.stderr);
  assert.equal(await manifestDigest(reg.ref("app:carbon")), index);
});

test("--annotation prefixes: index: names the index's key, manifest-descriptor[PLATFORM]: one entry; others are refused", async () => {
  const r = await polyarch(
    [
      "imagetools",
      "create",
      "--dry-run",
      "--annotation",
      "index:org.opencontainers.image.title=multi",
      "--annotation",
      "org.example.plain=yes",
      "--annotation",
      "manifest-descriptor[linux/arm64]:org.example.arch=arm",
      "--annotation",
      "manifest-descriptor:org.example.all=1",
      reg.ref("app:amd64"),
      reg.ref("other:arm64"),
    ],
    { env: env() },
  );
  assert.equal(r.code, 0, r.stderr);
  const index = JSON.parse(r.stdout) as { annotations: Record<string, string>; manifests: RawDescriptor[] };
  assert.deepEqual(index.annotations, {
    "org.opencontainers.image.title": "multi",
    "org.example.plain": "yes",
  });
  const byArch = Object.fromEntries(index.manifests.map((m) => [m.platform!.architecture, m.annotations]));
  assert.deepEqual(byArch.arm64, { "org.example.all": "1", "org.example.arch": "arm" });
  assert.deepEqual(byArch.amd64, { "org.example.all": "1" });

  for (const bad of [
    "manifest:org.example.x=1",
    "bogus:org.example.x=1",
    "index[linux/amd64]:k=v",
    "novalue",
  ]) {
    const e = await polyarch(
      ["imagetools", "create", "--dry-run", "--annotation", bad, reg.ref("app:amd64")],
      {
        env: env(),
      },
    );
    assert.equal(e.code, 1, bad);
    assert.match(e.stderr, /^error: .*annotation/m, bad);
  }
});

test("--progress: quiet prints nothing on stderr, rawjson prints JSON lines, plain the copy steps", async () => {
  const quiet = await polyarch(
    [
      "imagetools",
      "create",
      "--progress=quiet",
      "-t",
      reg.ref("app:quiet"),
      reg.ref("app:amd64"),
      reg.ref("other:arm64"),
    ],
    { env: env() },
  );
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stderr, "");
  const raw = await polyarch(
    [
      "imagetools",
      "create",
      "--progress=rawjson",
      "-t",
      reg.ref("app:rawjson"),
      reg.ref("app:amd64"),
      reg.ref("other:arm64"),
    ],
    { env: env() },
  );
  assert.equal(raw.code, 0, raw.stderr);
  const lines = raw.stderr.trim().split("\n");
  for (const l of lines) JSON.parse(l);
  const plain = await polyarch(
    [
      "imagetools",
      "create",
      "--progress=plain",
      "-t",
      reg.ref("app:plain"),
      reg.ref("app:amd64"),
      reg.ref("other:arm64"),
    ],
    { env: env() },
  );
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stderr, /pushed .*app:plain@sha256:/);
  const wrong = await polyarch(
    ["imagetools", "create", "--progress=fancy", "--dry-run", reg.ref("app:amd64")],
    { env: env() },
  );
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /invalid --progress "fancy"/);
});
