import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm, stat, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { openContentStore } from "../../../src/content/index.ts";
import { digestOf } from "../../../src/oci/digest.ts";
import { patternChunk } from "./child-writer.ts";

const childScript = fileURLToPath(new URL("./child-writer.ts", import.meta.url));
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-race-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function startWriter(root: string, size: number, chunk: number, mode = "normal"): ChildProcess {
  const digest = digestOf(patternChunk(0, size));
  return spawn(process.execPath, [childScript, root, digest, String(size), String(chunk), mode], {
    stdio: ["ignore", "pipe", "inherit"],
  });
}

async function outputOf(child: ChildProcess): Promise<{ code: number | null; out: string }> {
  let out = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  const [code] = await once(child, "exit");
  return { code, out };
}

test("a writer killed mid-write leaves no visible blob, and the next write succeeds", async () => {
  const root = join(dir, "crash");
  const size = 4 * 1024 * 1024;
  const expected = patternChunk(0, size);
  const digest = digestOf(expected);
  const child = startWriter(root, size, 64 * 1024, "stall");
  // Wait until half the blob is in the ingest file, then kill without giving it a chance to clean up.
  const [line] = await once(child.stdout!, "data");
  assert.match(String(line), /halfway/);
  child.kill("SIGKILL");
  await once(child, "exit");

  const ingest = await readdir(join(root, "ingest"));
  assert.equal(ingest.length, 1, "the partial write stays in ingest/ only");
  assert.ok((await stat(join(root, "ingest", ingest[0]!))).size > 0);

  // Opening the store again removes the partial file: its name says its writer, which is gone.
  const store = await openContentStore(root);
  assert.equal(await store.has(digest), false);
  assert.deepEqual(await readdir(join(root, "blobs", "sha256")).catch(() => []), []);
  assert.deepEqual(await readdir(join(root, "ingest")), [], "the dead writer's ingest file is swept");

  const info = await store.write({ digest, size }, expected);
  assert.deepEqual(info, { digest, size });
  assert.deepEqual(await readFile(store.path(digest)), expected);
});

test("opening the store keeps the ingest files of live writers", async () => {
  const root = join(dir, "live");
  const child = startWriter(root, 4 * 1024 * 1024, 64 * 1024, "stall");
  const [line] = await once(child.stdout!, "data");
  assert.match(String(line), /halfway/);
  try {
    await openContentStore(root);
    assert.equal((await readdir(join(root, "ingest"))).length, 1, "a live writer's file stays");
  } finally {
    child.kill("SIGKILL");
    await once(child, "exit");
  }
  // Old ingest files go with gc's cleanup, whoever wrote them.
  const [name] = await readdir(join(root, "ingest"));
  const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
  await utimes(join(root, "ingest", name!), old, old);
  assert.equal(await (await openContentStore(root)).cleanupIngest(), 0, "already swept at open");
});

test("two processes writing the same blob at once both succeed with one correct file", async () => {
  const root = join(dir, "race");
  const size = 8 * 1024 * 1024 + 3;
  const expected = patternChunk(0, size);
  const digest = digestOf(expected);
  // Small chunks with a yield between them keep both writers in flight at the same time.
  const a = startWriter(root, size, 16 * 1024);
  const b = startWriter(root, size, 16 * 1024);
  const [ra, rb] = await Promise.all([outputOf(a), outputOf(b)]);
  assert.equal(ra.code, 0);
  assert.equal(rb.code, 0);
  assert.deepEqual(JSON.parse(ra.out), { digest, size });
  assert.deepEqual(JSON.parse(rb.out), { digest, size });
  assert.deepEqual(await readdir(join(root, "blobs", "sha256")), [digest.slice(7)]);
  assert.ok((await readFile(join(root, "blobs", "sha256", digest.slice(7)))).equals(expected));
  assert.deepEqual(await readdir(join(root, "ingest")), []);
});
