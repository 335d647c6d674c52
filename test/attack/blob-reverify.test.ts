// A blob already in the store is verified again whenever it is shipped: a layer changed on disk after it
// was stored (a bad disk, a tool, another user) fails the export or push with an error naming the blob,
// before the archive, layout or registry upload is complete; the next build makes the blob anew.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import tar from "tar-stream";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { polyarch, tempStateRoot } from "../support/cli.ts";
import { attack } from "./support/attack.ts";

let work: string;
let context: string;
let state: Awaited<ReturnType<typeof tempStateRoot>>;
let reg: TestRegistry;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "polyarch-attack-blob-"));
  context = join(work, "context");
  await mkdir(context);
  // Incompressible and larger than one read chunk, so part of the blob streams before the check fails.
  await writeFile(join(context, "payload"), randomBytes(3 << 20));
  await writeFile(join(context, "Dockerfile"), "FROM scratch\nCOPY payload /payload\n");
  state = await tempStateRoot();
  reg = await startRegistry();
});
after(async () => {
  await reg?.stop();
  await state?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

const env = () => ({
  POLYARCH_ROOT: state.dir,
  DOCKER_CONFIG: state.dir,
  SOURCE_DATE_EPOCH: "1700000000",
  ...reg.env(),
});

function build(args: string[]) {
  return polyarch(["build", "--progress=plain", "--platform", "linux/amd64", ...args, context], {
    env: env(),
  });
}

async function tarFiles(file: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  extract.on("entry", (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c) => chunks.push(c as Buffer));
    stream.on("end", () => {
      files.set(header.name, Buffer.concat(chunks));
      next();
    });
  });
  extract.end(await readFile(file));
  await new Promise<void>((resolve, reject) => extract.on("finish", () => resolve()).on("error", reject));
  return files;
}

/** Builds a good OCI archive and returns its layer's digest (the blob the attack then damages). */
async function goodArchive(name: string): Promise<{ layer: string; blob: Buffer }> {
  const out = join(work, `${name}.tar`);
  const r = await build(["-o", `type=oci,dest=${out}`]);
  assert.equal(r.code, 0, r.stderr);
  const files = await tarFiles(out);
  const index = JSON.parse(files.get("index.json")!.toString()) as { manifests: { digest: string }[] };
  const blob = (d: string) => files.get(`blobs/sha256/${d.slice("sha256:".length)}`)!;
  const manifest = JSON.parse(blob(index.manifests[0]!.digest).toString()) as {
    layers: { digest: string }[];
  };
  const layer = manifest.layers[0]!.digest;
  return { layer, blob: blob(layer) };
}

async function flipByte(digest: string): Promise<void> {
  const file = await open(
    join(state.dir, "content", "blobs", "sha256", digest.slice("sha256:".length)),
    "r+",
  );
  try {
    const b = Buffer.alloc(1);
    await file.read(b, 0, 1, 100);
    b[0] = b[0]! ^ 0xff;
    await file.write(b, 0, 1, 100);
  } finally {
    await file.close();
  }
}

function assertDamagedError(r: { code: number | null; stderr: string }, layer: string): void {
  assert.notEqual(r.code, 0, "the export of a damaged blob succeeded");
  assert.match(r.stderr, new RegExp(`blob ${layer} in the content store .* is damaged`));
  assert.match(r.stderr, /run the build again/);
  assert.doesNotMatch(r.stderr, /looks like a bug|failed: |network/i);
}

const leftovers = async () => (await readdir(work)).filter((n) => n.includes(".tmp"));

for (const [kind, output] of [
  ["an OCI archive", (d: string) => `type=oci,dest=${d}.tar`],
  ["a docker archive", (d: string) => `type=docker,dest=${d}.tar`],
  ["an OCI layout directory", (d: string) => `type=oci,tar=false,dest=${d}`],
] as const) {
  attack(`a stored layer changed on disk is never written into ${kind}`, async () => {
    const { layer, blob } = await goodArchive(`good-${kind.replaceAll(" ", "-")}`);
    await flipByte(layer);
    const dest = join(work, `bad-${kind.replaceAll(" ", "-")}`);
    assertDamagedError(await build(["-o", output(dest)]), layer);
    assert.equal(existsSync(`${dest}.tar`) || existsSync(dest), false, "a partial output was left in place");
    assert.deepEqual(await leftovers(), []);

    // Nothing good was lost: the next build makes the layer anew, byte for byte.
    const again = await goodArchive(`again-${kind.replaceAll(" ", "-")}`);
    assert.equal(again.layer, layer);
    assert.ok(again.blob.equals(blob));
  });
}

attack("a stored layer changed on disk is never completed in a registry by a push", async () => {
  const { layer } = await goodArchive("before-push");
  await flipByte(layer);
  const r = await build(["-t", reg.ref("attack/blob:1"), "--push"]);
  assertDamagedError(r, layer);
  const head = await fetch(`${reg.url}/v2/attack/blob/blobs/${layer}`, { method: "HEAD" });
  assert.equal(head.status, 404, "the registry holds the damaged layer");
  const tag = await fetch(`${reg.url}/v2/attack/blob/manifests/1`, { method: "HEAD" });
  assert.equal(tag.status, 404, "the tag was pushed");

  // After the damaged copy is gone, the same push makes the layer anew and completes.
  const ok = await build(["-t", reg.ref("attack/blob:1"), "--push"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((await fetch(`${reg.url}/v2/attack/blob/blobs/${layer}`, { method: "HEAD" })).status, 200);
});
