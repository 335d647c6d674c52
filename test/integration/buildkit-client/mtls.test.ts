import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ControlClient } from "../../../src/buildkit/control-client.ts";
import { UserError } from "../../../src/errors/user-error.ts";
import { startBuildKit } from "../../harness/buildkit.ts";
import { generateClientCert, generatePki, type TestPki } from "../../harness/tls.ts";

// buildkitd on loopback TCP with mutual TLS, certificates made here with openssl, reached the way buildx's
// remote driver is given them (cacert=, cert=, key=, servername=).
async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

let bk: Awaited<ReturnType<typeof startBuildKit>>;
let pki: TestPki;
let client: { cert: string; key: string };
let otherCa: TestPki;
before(async () => {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-bk-tls-"));
  pki = await generatePki(join(dir, "good"));
  otherCa = await generatePki(join(dir, "other"));
  client = await generateClientCert(pki);
  const port = await freePort();
  bk = await startBuildKit([], {
    tcp: `127.0.0.1:${port}`,
    tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.caCert },
  });
});
after(() => bk?.stop());

test("mutual TLS with the right CA and a client certificate lists the workers", async () => {
  const c = new ControlClient({
    address: bk.tcpAddress!,
    cacert: pki.caCert,
    cert: client.cert,
    key: client.key,
  });
  try {
    const workers = await c.listWorkers();
    assert.ok(workers[0]!.platforms.some((p) => p.architecture === "arm64"));
    assert.equal((await c.info()).version, "v0.24.0");
  } finally {
    c.close();
  }
});

test("servername= names the certificate's host when the address is another name for it", async () => {
  const c = new ControlClient({
    address: bk.tcpAddress!.replace("127.0.0.1", "localhost"),
    cacert: pki.caCert,
    cert: client.cert,
    key: client.key,
    servername: "localhost",
  });
  try {
    assert.equal((await c.info()).version, "v0.24.0");
  } finally {
    c.close();
  }
});

test("a wrong CA fails with one line that says TLS and names the endpoint", async () => {
  const c = new ControlClient({
    address: bk.tcpAddress!,
    cacert: otherCa.caCert,
    cert: client.cert,
    key: client.key,
  });
  try {
    await assert.rejects(c.info(), (e: unknown) => {
      assert.ok(e instanceof UserError, String(e));
      assert.ok(e.message.startsWith(`BuildKit node ${bk.tcpAddress}: TLS failed`), e.message);
      assert.ok(!e.message.includes("\n"));
      assert.match(e.hint ?? "", /cacert=/);
      return true;
    });
  } finally {
    c.close();
  }
});

test("without a client certificate the daemon refuses the connection", async () => {
  const c = new ControlClient({ address: bk.tcpAddress!, cacert: pki.caCert });
  try {
    await assert.rejects(c.info(), (e: unknown) => {
      assert.ok(e instanceof UserError, String(e));
      assert.ok(e.message.startsWith(`BuildKit node ${bk.tcpAddress}:`), e.message);
      return true;
    });
  } finally {
    c.close();
  }
});

test("plain gRPC to the TLS port fails, naming the endpoint", async () => {
  const c = new ControlClient({ address: bk.tcpAddress! });
  try {
    await assert.rejects(
      c.info(),
      (e: unknown) => e instanceof UserError && e.message.includes(bk.tcpAddress!),
    );
  } finally {
    c.close();
  }
});
