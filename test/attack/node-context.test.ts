// What crosses the build channel is the other machine's: a node lays out the client's context files
// only inside a fresh directory (no absolute path, no `..`, nothing under a path the list makes a
// symlink, no hard link to a later entry), and a client takes a node's results only as well-formed
// layers (digests, sizes), whose bytes the content store then verifies.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { layOut } from "../../src/api/builders/node-context.ts";
import { parseSolvedPlatform, parseWireFiles } from "../../src/api/builders/wire-values.ts";
import { openContentStore } from "../../src/content/local-store.ts";
import { attack } from "./support/attack.ts";

const file = (path: string, extra: Record<string, unknown> = {}) => ({
  path,
  type: "file",
  mode: 0o100644,
  uid: 0,
  gid: 0,
  size: 0,
  mtimeMs: 0,
  digest: "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  ...extra,
});

attack("context paths from a client never leave the node's directory", async (canaries) => {
  for (const path of [
    `../../..${canaries.etcFile}`,
    canaries.etcFile,
    "a/../../x",
    "./x",
    "a//b",
    "",
    "x\0y",
  ]) {
    assert.throws(() => parseWireFiles([file(path)]), /the other side of the build channel sent/, path);
  }
  assert.throws(() => parseWireFiles([file("a", { link: 0 })]), /hard link/);
  assert.throws(() => parseWireFiles([file("a", { link: 5 }), file("b")]), /hard link/);

  // A symlink to the host's /tmp canary, then a file "through" it: refused before anything is written.
  const work = await mkdtemp(join(tmpdir(), "polyarch-attack-nodectx-"));
  try {
    const store = await openContentStore(join(work, "content"));
    await store.write(undefined, new Uint8Array());
    const root = join(work, "root");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(root);
    const hostile = parseWireFiles([
      {
        path: "link",
        type: "symlink",
        mode: 0o120777,
        uid: 0,
        gid: 0,
        size: 0,
        mtimeMs: 0,
        linkTarget: canaries.tmpDir,
      },
      file("link/planted"),
    ]);
    await assert.rejects(layOut(root, hostile, store), /a path under a symlink/);
    assert.equal(existsSync(join(canaries.tmpDir, "planted")), false);
    assert.deepEqual(await readdir(root), []);
    // The same path twice (a file, then a symlink over it) is refused too.
    await assert.rejects(
      layOut(root, parseWireFiles([file("x"), { ...file("x"), type: "symlink", linkTarget: "/" }]), store),
      /twice/,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

attack("a node's results are read only as well-formed layers", async () => {
  const good = {
    platform: { os: "linux", architecture: "arm64" },
    baseLayers: [],
    layers: [
      {
        layer: {
          descriptor: {
            mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
            digest: `sha256:${"a".repeat(64)}`,
            size: 10,
          },
          diffId: `sha256:${"b".repeat(64)}`,
        },
        created: "2026-01-01T00:00:00Z",
      },
    ],
  };
  assert.equal(parseSolvedPlatform(good).layers.length, 1);
  const bad = (mutate: (v: typeof good) => void) => {
    const copy = structuredClone(good);
    mutate(copy);
    return () => parseSolvedPlatform(copy);
  };
  assert.throws(
    bad((v) => {
      v.layers[0]!.layer.descriptor.digest = "../../etc/passwd";
    }),
    /not a digest/,
  );
  assert.throws(
    bad((v) => {
      v.layers[0]!.layer.descriptor.size = -1;
    }),
    /not one/,
  );
  assert.throws(
    bad((v) => {
      v.layers[0]!.layer.diffId = "sha256:zz";
    }),
    /not a digest/,
  );
  assert.throws(
    bad((v) => {
      (v as { platform: unknown }).platform = "linux/arm64";
    }),
    /platform/,
  );
});
