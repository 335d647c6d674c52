import assert from "node:assert/strict";
import { lstat, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { platformDirName } from "../../../src/oci/platform.ts";
import { busyboxOwners, busyboxPlatforms, busyboxRootfs } from "../../harness/busybox-rootfs.ts";
import { run } from "../../harness/exec.ts";
import { busyboxLayout, largeImageLayout, pushLargeImage } from "../../harness/images.ts";
import { entriesOfDir, writeGzipLayer } from "../../harness/layer-tar.ts";
import { startRegistry } from "../../harness/registry.ts";

test("fixture layers are deterministic: the same rootfs built twice gives the same digests", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-layer-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const results = [];
  for (const n of ["a", "b"]) {
    await busyboxRootfs(busyboxPlatforms[1]!, join(dir, `rootfs-${n}`));
    results.push(await writeGzipLayer(await entriesOfDir(join(dir, `rootfs-${n}`), busyboxOwners), dir));
  }
  assert.deepEqual(results[0], results[1]);
});

test("umoci unpacks the busybox layout, and the amd64 image is a working busybox", async (t) => {
  const { layout } = await busyboxLayout();
  const dir = await mkdtemp(join(tmpdir(), "polyarch-umoci-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bundle = join(dir, "bundle");
  const name = platformDirName(busyboxPlatforms[0]!);
  const unpack = await run("umoci", ["unpack", "--image", `${layout.dir}:${name}`, bundle]);
  assert.equal(unpack.code, 0, unpack.stderr);
  const rootfs = join(bundle, "rootfs");
  const uname = await run(join(rootfs, "bin", "busybox"), ["uname", "-m"]);
  assert.equal(uname.stdout.trim(), "x86_64");
  assert.equal((await lstat(join(rootfs, "tmp"))).mode & 0o7777, 0o1777);
  assert.equal((await stat(join(rootfs, "home", "app"))).uid, 1000);
  assert.equal((await stat(join(rootfs, "etc", "passwd"))).uid, 0);
  const config = JSON.parse(await readFile(join(bundle, "config.json"), "utf8")) as {
    process: { args: string[] };
  };
  assert.deepEqual(config.process.args, ["sh"]);
});

test("the large benchmark image: two platforms of incompressible, reproducible data", async (t) => {
  const cache = await mkdtemp(join(tmpdir(), "polyarch-cache-"));
  const saved = process.env.POLYARCH_TEST_CACHE;
  process.env.POLYARCH_TEST_CACHE = cache;
  t.after(async () => {
    if (saved === undefined) delete process.env.POLYARCH_TEST_CACHE;
    else process.env.POLYARCH_TEST_CACHE = saved;
    await rm(cache, { recursive: true, force: true });
  });
  const options = { megabytesPerPlatform: 3, layersPerPlatform: 2, fileMegabytes: 1, seed: "t" };
  await using reg = await startRegistry();
  const pushed = await pushLargeImage(reg, "bench/large:1", options);
  const raw = await run("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${pushed.ref}`]);
  const index = JSON.parse(raw.stdout) as { manifests: { platform: { architecture: string } }[] };
  assert.deepEqual(
    index.manifests.map((m) => m.platform.architecture),
    ["amd64", "arm64"],
  );
  const arm = index.manifests[1] as unknown as { digest: string };
  const armRef = `docker://${reg.ref("bench/large")}@${arm.digest}`;
  const manifest = JSON.parse(
    (await run("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), armRef])).stdout,
  ) as {
    layers: { size: number }[];
  };
  const compressed = manifest.layers.reduce((n, l) => n + l.size, 0);
  assert.equal(manifest.layers.length, 2);
  // Incompressible: gzip leaves it (nearly) as large as the payload.
  assert.ok(compressed > 3 * 1024 * 1024, `compressed ${compressed}`);

  // Same options, same bytes: a rebuild in a fresh cache gives the same index.
  await rm(pushed.layoutDir, { recursive: true, force: true });
  const again = await largeImageLayout(options);
  const indexJson = (d: string) => readFile(join(d, "index.json"), "utf8");
  assert.equal(again.dir, pushed.layoutDir);
  assert.match(await indexJson(again.dir), new RegExp(pushed.digest));
});
