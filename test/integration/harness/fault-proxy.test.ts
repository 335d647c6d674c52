import assert from "node:assert/strict";
import { test } from "node:test";
import { digestOf } from "../../../src/oci/digest.ts";
import { run } from "../../harness/exec.ts";
import { paths, startFaultProxy } from "../../harness/fault-proxy.ts";
import { busyboxLayout, pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";

const indexAccept = "application/vnd.oci.image.index.v1+json";

async function registryWithBusybox(): Promise<TestRegistry & AsyncDisposable> {
  const reg = await startRegistry();
  await pushBusyboxImage(reg);
  return reg;
}

async function firstLayer(): Promise<{ digest: string; size: number }> {
  const { layout, manifests } = await busyboxLayout();
  const manifest = JSON.parse((await layout.readBlob(manifests[0]!.digest)).toString()) as {
    layers: { digest: string; size: number }[];
  };
  return manifest.layers[0]!;
}

test("503 with and without Retry-After, then the real answer", async () => {
  await using reg = await registryWithBusybox();
  await using proxy = await startFaultProxy(reg);
  proxy.addFault({ method: "GET", path: paths.manifest, first: 1, fault: { kind: "status", status: 503 } });
  proxy.addFault({
    method: "GET",
    path: paths.manifest,
    first: 2,
    fault: { kind: "status", status: 503, retryAfter: 1 },
  });
  const url = `${proxy.url}/v2/library/busybox/manifests/latest`;
  const init = { headers: { accept: indexAccept } };

  const first = await fetch(url, init);
  assert.equal(first.status, 503);
  assert.equal(first.headers.get("retry-after"), null);
  await first.arrayBuffer();
  // The first rule is spent; the second (first: 2) has seen two matches and fires on its second.
  const second = await fetch(url, init);
  assert.equal(second.status, 503);
  assert.equal(second.headers.get("retry-after"), "1");
  await second.arrayBuffer();
  const third = await fetch(url, init);
  assert.equal(third.status, 200);
  assert.equal(third.headers.get("content-type"), indexAccept);
  const direct = await fetch(`${reg.url}/v2/library/busybox/manifests/latest`, init);
  assert.deepEqual(Buffer.from(await third.arrayBuffer()), Buffer.from(await direct.arrayBuffer()));
  assert.equal(proxy.injected("status"), 2);
  assert.deepEqual(
    proxy.log.map((f) => [f.rule, f.status]),
    [
      [0, 503],
      [1, 503],
    ],
  );
});

test("429 every 2nd blob request, counted", async () => {
  await using reg = await registryWithBusybox();
  await using proxy = await startFaultProxy(reg);
  proxy.addFault({ path: paths.blob, every: 2, fault: { kind: "status", status: 429, retryAfter: 2 } });
  const layer = await firstLayer();
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await fetch(`${proxy.url}/v2/library/busybox/blobs/${layer.digest}`, { method: "HEAD" });
    statuses.push(r.status);
    if (r.status === 429) assert.equal(r.headers.get("retry-after"), "2");
  }
  assert.deepEqual(statuses, [200, 429, 200, 429]);
  assert.equal(proxy.injected(), 2);
});

test("a reset before the headers, then success", async () => {
  await using reg = await registryWithBusybox();
  await using proxy = await startFaultProxy(reg);
  proxy.addFault({ path: paths.ping, first: 1, fault: { kind: "reset" } });
  await assert.rejects(fetch(`${proxy.url}/v2/`));
  assert.equal((await fetch(`${proxy.url}/v2/`)).status, 200);
  assert.equal(proxy.injected("reset"), 1);

  // And as curl sees it: no HTTP status at all.
  proxy.addFault({ path: paths.ping, fault: { kind: "reset" } });
  const curl = await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", `${proxy.url}/v2/`]);
  assert.notEqual(curl.code, 0);
  assert.equal(curl.stdout, "000");
});

test("a body cut short after some bytes, and a corrupted body of the right length", async () => {
  await using reg = await registryWithBusybox();
  await using proxy = await startFaultProxy(reg);
  const layer = await firstLayer();
  const url = `${proxy.url}/v2/library/busybox/blobs/${layer.digest}`;

  proxy.addFault({
    method: "GET",
    path: paths.blob,
    first: 1,
    fault: { kind: "cut-body", afterBytes: 100_000 },
  });
  const cut = await fetch(url);
  assert.equal(cut.status, 200);
  assert.equal(Number(cut.headers.get("content-length")), layer.size);
  await assert.rejects(cut.arrayBuffer());
  // curl reports exactly how much arrived before the cut.
  proxy.clearFaults();
  proxy.addFault({
    method: "GET",
    path: paths.blob,
    first: 1,
    fault: { kind: "cut-body", afterBytes: 100_000 },
  });
  const curl = await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{size_download}", url]);
  assert.notEqual(curl.code, 0);
  assert.equal(curl.stdout, "100000");

  proxy.clearFaults();
  proxy.addFault({ method: "GET", path: paths.blob, first: 1, fault: { kind: "corrupt" } });
  const bad = Buffer.from(await (await fetch(url)).arrayBuffer());
  assert.equal(bad.length, layer.size);
  assert.notEqual(digestOf(bad), layer.digest);
  const good = Buffer.from(await (await fetch(url)).arrayBuffer());
  assert.equal(digestOf(good), layer.digest);
  assert.equal(proxy.injected("cut-body"), 2);
  assert.equal(proxy.injected("corrupt"), 1);
});

test("pushes through the proxy: upload Locations are rewritten to the proxy and bodies streamed", async () => {
  await using reg = await startRegistry();
  await using proxy = await startFaultProxy(reg);
  const pushed = await pushBusyboxImage(proxy, { name: "via/proxy:1" });
  assert.equal(pushed.ref, `${proxy.host}/via/proxy:1`);
  // Every step of every upload came back through us: POST, then PUT (or PATCH) on the Location we rewrote.
  const uploads = proxy.requests.filter((r) => paths.upload.test(r.path));
  assert.ok(uploads.some((r) => r.method === "POST"));
  assert.ok(uploads.some((r) => r.method === "PUT"));
  const direct = await run("skopeo", [
    "inspect",
    "--raw",
    ...reg.skopeoFlags(),
    `docker://${reg.ref("via/proxy:1")}`,
  ]);
  assert.equal(direct.code, 0, direct.stderr);
  assert.equal(digestOf(direct.stdout), pushed.digest);
});

test("in front of a TLS + basic-auth registry, the proxy speaks plain HTTP and passes auth through", async () => {
  await using reg = await startRegistry({ auth: "basic" });
  await using proxy = await startFaultProxy(reg);
  await pushBusyboxImage(reg);
  proxy.addFault({ method: "GET", path: paths.manifest, first: 1, fault: { kind: "status", status: 503 } });
  const unauth = await fetch(`${proxy.url}/v2/`);
  assert.equal(unauth.status, 401);
  assert.match(unauth.headers.get("www-authenticate") ?? "", /^Basic /);
  // skopeo may or may not retry the 503 itself; either way the fault fires once and a later run succeeds.
  const args = [
    "inspect",
    "--raw",
    ...proxy.skopeoFlags(),
    `docker://${proxy.ref("library/busybox:latest")}`,
  ];
  await run("skopeo", args);
  const ok = await run("skopeo", args);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(proxy.injected(), 1);
});
