import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DockerConfigCredentials } from "../../../src/registry/credentials.ts";

async function configDir(config: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-cfg-"));
  await writeFile(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

test("inline auths: base64 user:password, and Docker Hub's legacy key", async () => {
  const dir = await configDir({
    auths: {
      "reg.example:5000": { auth: Buffer.from("alice:s3cr:et").toString("base64") },
      "https://index.docker.io/v1/": { auth: Buffer.from("bob:pw").toString("base64") },
    },
  });
  try {
    const c = new DockerConfigCredentials(dir);
    assert.deepEqual(await c.get("reg.example:5000"), { username: "alice", password: "s3cr:et" });
    assert.deepEqual(await c.get("docker.io"), { username: "bob", password: "pw" });
    assert.equal(await c.get("other.example"), undefined);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test("credHelpers beat credsStore which beats auths; helpers speak the docker-credential protocol", async () => {
  const bin = await mkdtemp(join(tmpdir(), "polyarch-bin-"));
  // Real helper programs on PATH, as Docker runs them: server URL on stdin, JSON on stdout.
  await writeFile(
    join(bin, "docker-credential-perhost"),
    '#!/bin/sh\nread url\necho "{\\"ServerURL\\":\\"$url\\",\\"Username\\":\\"helper-user\\",\\"Secret\\":\\"helper-secret-$url\\"}"\n',
  );
  await writeFile(
    join(bin, "docker-credential-store"),
    '#!/bin/sh\nread url\nif [ "$url" = "stored.example" ]; then echo \'{"Username":"<token>","Secret":"refresh-tok"}\'; else echo "credentials not found in native keychain"; exit 1; fi\n',
  );
  await chmod(join(bin, "docker-credential-perhost"), 0o755);
  await chmod(join(bin, "docker-credential-store"), 0o755);
  const dir = await configDir({
    credHelpers: { "helped.example": "perhost" },
    credsStore: "store",
    auths: {
      "helped.example": { auth: Buffer.from("x:y").toString("base64") },
      "plain.example": { auth: Buffer.from("p:q").toString("base64") },
    },
  });
  const oldPath = process.env.PATH;
  process.env.PATH = `${bin}:${oldPath}`;
  try {
    const c = new DockerConfigCredentials(dir);
    assert.deepEqual(await c.get("helped.example"), {
      username: "helper-user",
      password: "helper-secret-helped.example",
    });
    assert.deepEqual(await c.get("stored.example"), { identityToken: "refresh-tok" });
    assert.deepEqual(await c.get("plain.example"), { username: "p", password: "q" });
  } finally {
    process.env.PATH = oldPath;
    await rm(dir, { recursive: true });
    await rm(bin, { recursive: true });
  }
});

test("a missing helper program is a clear error", async () => {
  const dir = await configDir({ credHelpers: { "reg.example": "does-not-exist" } });
  try {
    await assert.rejects(
      new DockerConfigCredentials(dir).get("reg.example"),
      /docker-credential-does-not-exist .* could not be run/,
    );
  } finally {
    await rm(dir, { recursive: true });
  }
});
