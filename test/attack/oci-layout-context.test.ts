// An oci-layout:// named context is a directory the user names, but its contents may come from anywhere
// (a downloaded layout, a shared cache). Its blobs may be links to host files, its blob folder a link out
// of the layout, its descriptors may lie about sizes and digests, its index may name paths instead of
// digests. None of it may read a host file into the image or the store, and each is a clear error.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import type { Descriptor } from "../../src/oci/descriptor.ts";
import { digestHex, digestOf } from "../../src/oci/digest.ts";
import { MediaType } from "../../src/oci/media-types.ts";
import { FixtureLayout } from "../harness/fixture-layout.ts";
import { polyarch } from "../support/cli.ts";
import { attack } from "./support/attack.ts";

let dir: string;
let ctx: string;
let seq = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-attack-oci-context-"));
  ctx = join(dir, "ctx");
  await mkdir(ctx);
  await writeFile(join(ctx, "Dockerfile"), "FROM scratch\nCOPY --from=base /f /f\n");
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A good one-file amd64 image, tagged `latest`; `tamper` then changes the layout before the build. */
async function layout(): Promise<{ path: string; layout: FixtureLayout; manifest: Descriptor }> {
  const path = join(dir, `layout-${++seq}`);
  const l = await new FixtureLayout(path).init();
  const layer = await l.writeLayer([
    { path: "f", type: "file", mode: 0o644, content: Buffer.from("layer\n") },
  ]);
  const { manifest } = await l.writeImage({ os: "linux", architecture: "amd64" }, [
    { ...layer, createdBy: "f" },
  ]);
  l.tag("latest", manifest);
  await l.finish();
  return { path, layout: l, manifest };
}

async function build(layoutPath: string) {
  const n = ++seq;
  const state = join(dir, `state-${n}`);
  const out = join(dir, `out-${n}`);
  const r = await polyarch(
    [
      "build",
      "--progress=plain",
      "--platform",
      "linux/amd64",
      "--build-context",
      `base=oci-layout://${layoutPath}`,
      "-o",
      `type=local,dest=${out}`,
      ctx,
    ],
    { env: { POLYARCH_ROOT: state } },
  );
  return { ...r, state, out };
}

/** Every blob digest in a state dir's content store. */
async function storedDigests(state: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      return;
    }
    for (const name of names) {
      if (/^[a-f0-9]{64}$/.test(name)) found.push(name);
      await walk(join(d, name));
    }
  };
  await walk(join(state, "content"));
  return found;
}

function assertCleanFailure(r: { code: number; stderr: string }, words: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, words);
  assert.doesNotMatch(r.stderr, /looks like a bug|\n\s+at /);
}

attack("oci-layout context: the good layout builds (the control case)", async () => {
  const { path } = await layout();
  const r = await build(path);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await readFile(join(r.out, "f"), "utf8"), "layer\n");
});

attack("oci-layout context: a blob that is a link to a host file is not read", async (canaries) => {
  // The manifest names the host file's own digest and size, so only the link decides.
  const { path, layout: l } = await layout();
  const secret = await readFile(canaries.etcFile);
  const digest = digestOf(secret);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest, size: secret.length },
    layers: [],
  };
  const desc = await l.writeBlob(Buffer.from(JSON.stringify(manifest)), MediaType.ociManifest);
  await symlink(canaries.etcFile, l.blobPath(digest));
  await writeIndex(path, [{ ...desc, annotations: { "org.opencontainers.image.ref.name": "latest" } }]);
  const r = await build(path);
  assertCleanFailure(r, /missing blob sha256:/);
  assert.ok(!(await storedDigests(r.state)).includes(digestHex(digest)));
  assert.ok(!r.stderr.includes(secret.toString("utf8").trim()));
});

attack("oci-layout context: a blob folder that links out of the layout is not read", async () => {
  const { path } = await layout();
  const outside = join(dir, `outside-${++seq}`);
  await rename(join(path, "blobs", "sha256"), outside);
  await symlink(outside, join(path, "blobs", "sha256"));
  const r = await build(path);
  assertCleanFailure(r, /missing blob sha256:/);
});

attack(
  "oci-layout context: a manifest whose descriptor claims a huge size is refused before it is read",
  async () => {
    const { path, manifest } = await layout();
    const { platform: _p, ...plain } = manifest;
    await writeIndex(path, [
      { ...plain, size: 2 ** 40, annotations: { "org.opencontainers.image.ref.name": "latest" } },
    ]);
    const r = await build(path);
    assertCleanFailure(r, /too large to read into memory/);
  },
);

attack(
  "oci-layout context: a config blob bigger than its descriptor says is refused, and not stored",
  async () => {
    const { path, layout: l } = await layout();
    const index = JSON.parse(await readFile(join(path, "index.json"), "utf8"));
    const manifest = JSON.parse((await l.readBlob(index.manifests[0].digest)).toString("utf8"));
    // Same digest name, far more bytes than the descriptor's size: read whole, it would fill memory.
    await writeFile(l.blobPath(manifest.config.digest), Buffer.alloc(20 * 1024 * 1024, 0x20));
    const r = await build(path);
    assertCleanFailure(r, /too large to read into memory/);
    assert.ok(!(await storedDigests(r.state)).includes(digestHex(manifest.config.digest)));
  },
);

attack("oci-layout context: a layer whose bytes are not its digest is refused, and not stored", async () => {
  const { path, layout: l } = await layout();
  const index = JSON.parse(await readFile(join(path, "index.json"), "utf8"));
  const manifest = JSON.parse((await l.readBlob(index.manifests[0].digest)).toString("utf8"));
  const layer = manifest.layers[0];
  const bytes = await l.readBlob(layer.digest);
  bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
  await writeFile(l.blobPath(layer.digest), bytes);
  const r = await build(path);
  assertCleanFailure(r, /digest|does not match/i);
  assert.ok(!(await storedDigests(r.state)).includes(digestHex(layer.digest)));
});

attack("oci-layout context: an index entry that names a path instead of a digest is refused", async () => {
  const { path } = await layout();
  await writeIndex(path, [
    {
      mediaType: MediaType.ociManifest,
      digest: "sha256:../../../../etc/passwd" as Descriptor["digest"],
      size: 10,
      annotations: { "org.opencontainers.image.ref.name": "latest" },
    },
  ]);
  const r = await build(path);
  assertCleanFailure(r, /digest/);
});

async function writeIndex(path: string, manifests: Descriptor[]): Promise<void> {
  await writeFile(
    join(path, "index.json"),
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }),
  );
}
