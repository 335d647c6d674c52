// type=local and type=tar read the build result's own tree (the solver's Ref, a view of its snapshots),
// not the layer blobs decompressed again: a cached build exports its files without reading a layer blob,
// which shows in a store whose layer blobs were damaged after the first build.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { polyarch } from "../../support/cli.ts";

let dir: string;
let registry: TestRegistry;
let context: string;
let state: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-result-tree-"));
  registry = await startRegistry();
  const base = (await pushBusyboxImage(registry)).ref;
  context = join(dir, "ctx");
  state = join(dir, "state");
  await mkdir(context);
  await writeFile(join(context, "a.txt"), "from the context\n");
  await writeFile(
    join(context, "Dockerfile"),
    `FROM ${base}\nCOPY a.txt /a.txt\nRUN rm /bin/true && cat /a.txt > /b.txt\n`,
  );
});
after(async () => {
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function buildTo(output: string): Promise<void> {
  const r = await polyarch(
    ["build", "--progress=plain", "--platform", "linux/amd64", "-o", output, context],
    {
      env: { POLYARCH_ROOT: state },
    },
  );
  assert.equal(r.code, 0, r.stderr);
}

/** Flips a byte in the middle of every gzip blob (every layer) of the store. */
async function damageLayerBlobs(): Promise<number> {
  const blobs = join(state, "content", "blobs", "sha256");
  let damaged = 0;
  for (const name of await readdir(blobs)) {
    const f = await open(join(blobs, name), "r+");
    try {
      const { size } = await f.stat();
      const head = Buffer.alloc(2);
      await f.read(head, 0, 2, 0);
      if (head[0] !== 0x1f || head[1] !== 0x8b || size < 64) continue;
      const b = Buffer.alloc(1);
      await f.read(b, 0, 1, Math.floor(size / 2));
      b[0] = b[0]! ^ 0xff;
      await f.write(b, 0, 1, Math.floor(size / 2));
      damaged++;
    } finally {
      await f.close();
    }
  }
  return damaged;
}

test("a cached type=local and type=tar export reads the result's tree, no layer blob", async () => {
  await buildTo(`type=oci,dest=${join(dir, "image.tar")}`);
  assert.ok((await damageLayerBlobs()) >= 3, "the base layer and both new layers are damaged");

  const dest = join(dir, "local");
  await buildTo(`type=local,dest=${dest}`);
  assert.equal(await readFile(join(dest, "b.txt"), "utf8"), "from the context\n");
  assert.equal(await readFile(join(dest, "a.txt"), "utf8"), "from the context\n");
  // The RUN's deletion holds in the tree (an overlay whiteout is not exported as a file).
  await assert.rejects(readFile(join(dest, "bin", "true")), { code: "ENOENT" });
  assert.ok((await readdir(join(dest, "bin"))).includes("sh"), "the base image's files are there");

  const tarFile = join(dir, "rootfs.tar");
  await buildTo(`type=tar,dest=${tarFile}`);
  const listing = (await import("node:child_process")).execFileSync("tar", ["-tf", tarFile], {
    encoding: "utf8",
  });
  assert.ok(listing.split("\n").includes("b.txt"));
  assert.ok(!listing.split("\n").includes("bin/true"));
});
