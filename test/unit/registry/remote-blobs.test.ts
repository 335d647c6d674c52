// The blob provider seam: a registry repository reads like the local store (RegistryBlobProvider), and
// layered behind it (layeredProvider) it serves what the local store lacks, only when read. A push that
// takes the read side copies an image whose layers were never pulled into the local store.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { layeredProvider } from "../../../src/content/layered-provider.ts";
import { type LocalContentStore, openContentStore } from "../../../src/content/local-store.ts";
import { digestOf } from "../../../src/oci/digest.ts";
import { parseIndex, parseManifest } from "../../../src/oci/manifest.ts";
import { pushImage } from "../../../src/registry/push.ts";
import { parseReference } from "../../../src/registry/reference.ts";
import { RegistryClients } from "../../../src/registry/registry-clients.ts";
import { RegistryBlobProvider } from "../../../src/registry/remote-blobs.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";

let dir: string;
let registry: TestRegistry;
let clients: RegistryClients;
let store: LocalContentStore;
let source: ReturnType<typeof parseReference>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-remote-blobs-"));
  registry = await startRegistry();
  source = parseReference((await pushBusyboxImage(registry)).ref);
  clients = new RegistryClients({});
  store = await openContentStore(join(dir, "content"));
});
after(async () => {
  await clients?.close();
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function blobCount(): Promise<number> {
  let n = 0;
  for await (const _ of store.list()) n++;
  return n;
}

describe("a registry as a blob provider", () => {
  test("a push through the layered read side sends layers straight from the registry, pulling none", async () => {
    const repo = clients.repository(source);
    const index = await repo.getManifest(source.tag ?? "latest");
    const platformEntry = parseIndex(index.bytes, "index").manifests[0]!;
    const fetched = await repo.getManifest(platformEntry.digest);
    const manifest = parseManifest(fetched.bytes, "manifest");
    // The local store has what a resolution keeps: the manifest and its config, no layer.
    await store.write({ digest: fetched.digest, size: fetched.bytes.length }, fetched.bytes);
    const remote = new RegistryBlobProvider(repo, [manifest.config, ...manifest.layers]);
    await store.write(manifest.config, await remote.readBytes(manifest.config.digest));
    assert.equal(await blobCount(), 2);

    const target = parseReference(`${registry.host}/copied/busybox:1`);
    await pushImage(clients, layeredProvider(store, remote), platformEntry, target);

    const pushed = await clients.repository(target).getManifest("1");
    assert.equal(pushed.digest, platformEntry.digest);
    for (const layer of manifest.layers) assert.ok(await clients.repository(target).hasBlob(layer.digest));
    assert.equal(await blobCount(), 2, "no layer was written to the local store");
  });

  test("what it reads is verified: bytes and info match the digest asked for", async () => {
    const repo = clients.repository(source);
    const index = await repo.getManifest(source.tag ?? "latest");
    const entry = parseIndex(index.bytes, "index").manifests[0]!;
    const manifest = parseManifest((await repo.getManifest(entry.digest)).bytes, "manifest");
    const remote = new RegistryBlobProvider(repo);
    const layer = manifest.layers[0]!;
    assert.deepEqual(await remote.info(layer.digest), { digest: layer.digest, size: layer.size });
    const chunks: Buffer[] = [];
    for await (const c of await remote.readStream(layer.digest)) chunks.push(c as Buffer);
    assert.equal(digestOf(Buffer.concat(chunks)), layer.digest);
    const missing = digestOf(Buffer.from("no such blob"));
    assert.equal(await remote.has(missing), false);
    assert.equal(await layeredProvider(store, remote).info(missing), undefined);
    await assert.rejects(layeredProvider(store, remote).readStream(missing), /in none of the blob sources/);
  });
});
