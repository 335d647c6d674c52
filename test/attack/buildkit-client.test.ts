import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { buildWithBuildKit } from "../../src/buildkit/build.ts";
import { ingestOciArchive } from "../../src/buildkit/oci-result.ts";
import { openContentStore } from "../../src/content/index.ts";
import { UserError } from "../../src/errors/user-error.ts";
import { parseAnyManifest } from "../../src/oci/manifest.ts";
import { startBuildKit } from "../harness/buildkit.ts";
import { fileInLayer, layerFiles } from "../integration/buildkit-client/support.ts";
import { attack } from "./support/attack.ts";
import { rawTar } from "./support/raw-tar.ts";

// The BuildKit client serves a context to a daemon and takes archives back from it: a symlink in the
// context must not send what it points to, and a daemon's archive must not write anything but verified
// blobs into the store.
let bk: Awaited<ReturnType<typeof startBuildKit>>;
before(async () => {
  bk = await startBuildKit([]);
});
after(() => bk?.stop());

async function* chunks(b: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += 700) yield b.subarray(i, i + 700);
}

attack(
  "a context symlink to a host file is sent as a link, never with the file's bytes",
  async (canaries) => {
    const ctx = await mkdtemp(join(tmpdir(), "polyarch-bk-attack-"));
    await writeFile(join(ctx, "Dockerfile"), "FROM scratch\nCOPY . /ctx/\n");
    await symlink(canaries.etcFile, join(ctx, "leak"));
    await symlink("../../../../../../../../../../..", join(ctx, "up"));
    const store = await openContentStore(await mkdtemp(join(tmpdir(), "polyarch-bk-attack-store-")));
    const secretBytes = readFileSync(canaries.etcFile);
    const result = await buildWithBuildKit({
      node: "bk",
      endpoint: { address: bk.address },
      contextDir: ctx,
      platforms: [{ os: "linux", architecture: "amd64" }],
      output: { type: "oci", store },
    });
    const sent = result.sync.get("context")!;
    assert.ok(!sent.paths.includes("leak") && !sent.paths.includes("up"), sent.paths.join(","));
    const index = parseAnyManifest(await store.readBytes(result.oci!.images[0]!.digest), undefined, "m");
    assert.equal(index.kind, "manifest");
    if (index.kind !== "manifest") return;
    for (const layer of index.manifest.layers) {
      const { raw, files } = await layerFiles(await store.readBytes(layer.digest, 1 << 30));
      assert.ok(!raw.includes(secretBytes), `layer ${layer.digest} holds the host file's bytes`);
      const leak = files.find((f) => f.path === "ctx/leak");
      if (leak) assert.equal(leak.type, "symlink");
    }
    assert.equal(await fileInLayer(await store.readBytes(index.manifest.layers[0]!.digest), "ctx/leak"), "");
  },
);

attack(
  "a daemon's OCI archive cannot write outside blobs/ nor store a blob under a false digest",
  async (canaries) => {
    const storeDir = await mkdtemp(join(tmpdir(), "polyarch-bk-attack-store-"));
    const store = await openContentStore(storeDir);
    const good = Buffer.from("a real blob\n");
    const goodDigest = createHash("sha256").update(good).digest("hex");
    const index = JSON.stringify({ schemaVersion: 2, manifests: [] });
    const hostile: { name: string; entries: Parameters<typeof rawTar>[0] }[] = [
      { name: "path escape", entries: [{ name: `../../../../${canaries.tmpDir}/keep`, content: "x" }] },
      { name: "absolute path", entries: [{ name: `${canaries.etcFile}`, content: "x" }] },
      {
        name: "blob under another's digest",
        entries: [{ name: `blobs/sha256/${goodDigest}`, content: "not it" }],
      },
      {
        name: "symlink into blobs",
        entries: [{ name: `blobs/sha256/${goodDigest}`, type: "symlink", linkname: canaries.etcFile }],
      },
      {
        name: "PAX path escape",
        entries: [{ name: "blobs/sha256/x", pax: { path: "../../evil" }, content: "x" }],
      },
      { name: "huge index", entries: [{ name: "index.json", content: Buffer.alloc(5 << 20, 0x20) }] },
      { name: "no index", entries: [{ name: `blobs/sha256/${goodDigest}`, content: good }] },
    ];
    for (const h of hostile) {
      const tar = rawTar([
        ...h.entries,
        ...(h.name === "no index" ? [] : [{ name: "index.json", content: index }]),
      ]);
      await assert.rejects(ingestOciArchive(chunks(tar), store, "BuildKit node bk"), (e: unknown) => {
        assert.ok(
          e instanceof UserError || (e as Error).name === "DigestMismatchError",
          `${h.name}: ${String(e)}`,
        );
        assert.ok(!String((e as Error).message).includes("\n"), h.name);
        return true;
      });
    }
    // Only the one honest blob (from "no index") may be in the store, under its own digest.
    const blobs = readdirSync(join(storeDir, "blobs", "sha256"));
    assert.ok(
      blobs.every((b) => b === goodDigest),
      blobs.join(","),
    );
  },
);
