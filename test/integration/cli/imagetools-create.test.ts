import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
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
