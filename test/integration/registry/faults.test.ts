import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { openContentStore } from "../../../src/content/index.ts";
import { UserError } from "../../../src/errors/user-error.ts";
import { digestOf } from "../../../src/oci/digest.ts";
import { parsePlatform } from "../../../src/oci/platform.ts";
import { pullImage } from "../../../src/registry/pull.ts";
import { pushImage } from "../../../src/registry/push.ts";
import { parseReference } from "../../../src/registry/reference.ts";
import { RegistryClients } from "../../../src/registry/registry-clients.ts";
import { runOk } from "../../harness/exec.ts";
import { paths, startFaultProxy } from "../../harness/fault-proxy.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";

const platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7"].map(parsePlatform);
let reg: TestRegistry;
let root: string;

before(async () => {
  reg = await startRegistry();
  await pushBusyboxImage(reg);
  root = await mkdtemp(join(tmpdir(), "polyarch-faults-"));
});
after(async () => {
  await reg?.stop();
  await rm(root, { recursive: true, force: true });
});

// Short back-off keeps the test quick; the schedule still exercises every retry path.
const fastRetries = { retryBaseMs: 10, retryMaxMs: 1500 };

test("pull completes through 503s, 429 with Retry-After, resets and cut bodies", async () => {
  await using proxy = await startFaultProxy(reg);
  proxy.addFault({ path: paths.ping, first: 1, fault: { kind: "reset" } });
  proxy.addFault({
    method: "GET",
    path: paths.manifest,
    first: 1,
    fault: { kind: "status", status: 429, retryAfter: 1 },
  });
  proxy.addFault({ method: "GET", path: paths.manifest, every: 3, fault: { kind: "status", status: 503 } });
  proxy.addFault({ method: "GET", path: paths.blob, first: 2, fault: { kind: "status", status: 502 } });
  proxy.addFault({ method: "GET", path: paths.blob, every: 2, fault: { kind: "cut-body", afterBytes: 100 } });

  const store = await openContentStore(join(root, "pull"));
  const clients = new RegistryClients(fastRetries);
  try {
    const images = await pullImage(
      clients,
      store,
      parseReference(proxy.ref("library/busybox:latest")),
      platforms,
    );
    assert.deepEqual(
      images.map((i) => i.config.architecture),
      ["amd64", "arm64", "arm"],
    );
    for (const image of images) {
      for (const layer of image.manifest.layers) {
        assert.equal(
          digestOf(await readAll(await store.readStream(layer.digest))),
          layer.digest,
          "stored bytes match their digest",
        );
      }
    }
  } finally {
    await clients.close();
  }
  assert.ok(proxy.injected("status") >= 4, `status faults injected: ${proxy.injected("status")}`);
  assert.ok(proxy.injected("cut-body") >= 1, "a body was cut");
  assert.ok(proxy.injected("reset") >= 1, "a connection was reset");
});

test("push completes through faults on every upload step, monolithic and chunked", async () => {
  await using proxy = await startFaultProxy(reg);
  const store = await openContentStore(join(root, "pull"));
  const seed = new RegistryClients(fastRetries);
  const [image] = await pullImage(seed, store, parseReference(reg.ref("library/busybox:latest")), [
    platforms[0]!,
  ]);
  await seed.close();

  for (const [tag, chunkSize] of [
    ["mono", undefined],
    ["chunked", 64 * 1024],
  ] as const) {
    proxy.clearFaults();
    proxy.addFault({
      method: "POST",
      path: paths.upload,
      first: 1,
      fault: { kind: "status", status: 503, retryAfter: 0 },
    });
    proxy.addFault({ method: "PUT", path: paths.upload, first: 1, fault: { kind: "reset" } });
    proxy.addFault({ method: "PATCH", path: paths.upload, every: 4, fault: { kind: "status", status: 500 } });
    proxy.addFault({ method: "PUT", path: paths.manifest, first: 1, fault: { kind: "status", status: 429 } });
    proxy.addFault({ method: "HEAD", path: paths.blob, first: 1, fault: { kind: "status", status: 503 } });
    const clients = new RegistryClients({ ...fastRetries, ...(chunkSize ? { chunkSize } : {}) });
    try {
      const target = parseReference(proxy.ref(`pushed/${tag}:1`));
      const result = await pushImage(clients, store, image!.manifestDescriptor, target);
      assert.equal(
        result.blobs.uploaded,
        image!.manifest.layers.length + 1,
        `every blob uploaded once the faults pass: ${JSON.stringify(result.blobs)}`,
      );
    } finally {
      await clients.close();
    }
    assert.ok(proxy.injected() >= 4, `${tag}: faults injected ${proxy.injected()}`);
    if (chunkSize)
      assert.ok(
        proxy.requests.some((r) => r.method === "PATCH"),
        "chunked upload used PATCH",
      );
    // An independent client sees a complete, valid image.
    const copy = await mkdtemp(join(root, "copy-"));
    await runOk("skopeo", [
      "copy",
      "--all",
      ...reg.skopeoFlags("src"),
      `docker://${reg.ref(`pushed/${tag}:1`)}`,
      `oci:${copy}:x`,
    ]);
  }

  // A second push of the same image moves no blob: every HEAD finds it.
  const again = new RegistryClients(fastRetries);
  try {
    const result = await pushImage(
      again,
      store,
      image!.manifestDescriptor,
      parseReference(reg.ref("pushed/mono:1")),
    );
    assert.equal(result.blobs.uploaded, 0);
    assert.equal(result.blobs.exists, image!.manifest.layers.length + 1);
  } finally {
    await again.close();
  }
});

test("a blob whose bytes do not match its digest is rejected and never enters the store", async () => {
  await using proxy = await startFaultProxy(reg);
  proxy.addFault({ method: "GET", path: paths.blob, fault: { kind: "corrupt" } });
  const storeDir = join(root, "corrupt");
  const store = await openContentStore(storeDir);
  const clients = new RegistryClients(fastRetries);
  try {
    await assert.rejects(
      pullImage(clients, store, parseReference(proxy.ref("library/busybox:latest")), [platforms[1]!]),
      (e: Error & { hint?: string }) => {
        assert.match(
          e.message,
          /does not match its digest \(expected sha256:[a-f0-9]{64}, got sha256:[a-f0-9]{64}\)/,
        );
        assert.match(e.hint ?? "", /nothing was stored/);
        return true;
      },
    );
  } finally {
    await clients.close();
  }
  // Only the manifests (fetched uncorrupted) are stored; no blob, no leftover temp file.
  const stored = await readdir(join(storeDir, "blobs", "sha256"));
  assert.equal(stored.length, 2, `index and manifest only, got ${stored.length}`);
  assert.deepEqual(await readdir(join(storeDir, "ingest")), []);
});

test("an index without the requested platform lists the platforms it has", async () => {
  const store = await openContentStore(join(root, "pull"));
  const clients = new RegistryClients(fastRetries);
  try {
    await assert.rejects(
      pullImage(clients, store, parseReference(reg.ref("library/busybox:latest")), [
        parsePlatform("linux/riscv64"),
      ]),
      (e: Error & { hint?: string }) => {
        assert.match(e.message, /has no image for linux\/riscv64/);
        assert.equal(e.hint, "it has: linux/amd64, linux/arm64, linux/arm/v7");
        return true;
      },
    );
  } finally {
    await clients.close();
  }
});

test("a manifest cut midway is fetched again; cut on every attempt, the error names the URL and what to do", async () => {
  await using proxy = await startFaultProxy(reg);
  const ref = parseReference(proxy.ref("library/busybox:latest"));
  const store = await openContentStore(join(root, "cut-manifest"));
  proxy.addFault({
    method: "GET",
    path: paths.manifest,
    first: 1,
    fault: { kind: "cut-body", afterBytes: 50 },
  });
  const clients = new RegistryClients({ ...fastRetries, maxAttempts: 3 });
  try {
    await pullImage(clients, store, ref, [platforms[0]!], { metadataOnly: true });
    assert.equal(proxy.injected("cut-body"), 1);

    proxy.clearFaults();
    proxy.addFault({ method: "GET", path: paths.manifest, fault: { kind: "cut-body", afterBytes: 50 } });
    await assert.rejects(
      pullImage(clients, store, ref, [platforms[0]!], { metadataOnly: true }),
      (e: Error & { hint?: string }) => {
        assert.ok(e instanceof UserError, "a user (environment) error, not a bug");
        assert.match(
          e.message,
          new RegExp(`GET http://${proxy.host}/v2/library/busybox/manifests/latest failed after 3 attempts`),
        );
        assert.match(e.hint ?? "", new RegExp(`connection to ${proxy.host} was cut repeatedly`));
        return true;
      },
    );
    assert.equal(proxy.injected("cut-body"), 1 + 3);
  } finally {
    await clients.close();
  }
});

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}
