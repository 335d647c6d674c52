import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runOk } from "./exec.ts";

/** A throw-away CA and a server certificate it signed, valid for 127.0.0.1 and localhost. */
export interface TestPki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
}

/**
 * Makes a CA and a server certificate with openssl (EC P-256 keys: fast to generate). Clients must trust the
 * CA explicitly, exactly as a user with a private registry would, so no test relies on the system store.
 */
export async function generatePki(dir: string): Promise<TestPki> {
  await mkdir(dir, { recursive: true });
  const p = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await runOk("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.crt"),
    "-days",
    "3650",
    "-subj",
    "/CN=polyarch test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await runOk("openssl", [
    "req",
    ...ec,
    "-keyout",
    p("server.key"),
    "-out",
    p("server.csr"),
    "-subj",
    "/CN=127.0.0.1",
  ]);
  await writeFile(
    p("server.ext"),
    [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "",
    ].join("\n"),
  );
  await runOk("openssl", [
    "x509",
    "-req",
    "-in",
    p("server.csr"),
    "-CA",
    p("ca.crt"),
    "-CAkey",
    p("ca.key"),
    "-CAcreateserial",
    "-out",
    p("server.crt"),
    "-days",
    "3650",
    "-extfile",
    p("server.ext"),
  ]);
  return {
    dir,
    caCert: p("ca.crt"),
    caKey: p("ca.key"),
    serverCert: p("server.crt"),
    serverKey: p("server.key"),
  };
}

/** A self-signed certificate and key for signing registry tokens (the registry trusts it as a root). */
export async function generateSigningCert(dir: string): Promise<{ cert: string; key: string }> {
  await mkdir(dir, { recursive: true });
  const cert = join(dir, "token-signing.crt");
  const key = join(dir, "token-signing.key");
  await runOk("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "3650",
    "-subj",
    "/CN=polyarch test token issuer",
  ]);
  return { cert, key };
}

/** A client certificate signed by the PKI's CA (for mutual TLS: a daemon that asks clients for one). */
export async function generateClientCert(
  pki: TestPki,
  name = "client",
): Promise<{ cert: string; key: string }> {
  const p = (f: string) => join(pki.dir, f);
  await runOk("openssl", [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    p(`${name}.key`),
    "-out",
    p(`${name}.csr`),
    "-subj",
    `/CN=${name}`,
  ]);
  await writeFile(p(`${name}.ext`), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
  await runOk("openssl", [
    "x509",
    "-req",
    "-in",
    p(`${name}.csr`),
    "-CA",
    pki.caCert,
    "-CAkey",
    pki.caKey,
    "-CAcreateserial",
    "-out",
    p(`${name}.crt`),
    "-days",
    "3650",
    "-extfile",
    p(`${name}.ext`),
  ]);
  return { cert: p(`${name}.crt`), key: p(`${name}.key`) };
}
