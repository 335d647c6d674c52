import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { listContextFiles } from "../../../src/dockerfile/context/list-files.ts";
import { ContextHasher, hashSelection } from "../../../src/solver/context-hash.ts";

let work: string;
let root: string;
let indexDir: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), "polyarch-statindex-"));
  root = join(work, "ctx");
  indexDir = join(work, "state", "context-index");
  await mkdir(root);
  await writeFile(join(root, "a.txt"), "alpha\n");
  await writeFile(join(root, "b.txt"), "beta\n");
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The digest of the whole context as a build sees it: a fresh listing, a fresh hasher over the index. */
async function build(settleMs = 0): Promise<string> {
  const hasher = new ContextHasher(indexDir, { settleMs });
  const d = await hashSelection({ root, files: await listContextFiles({ root }) }, hasher);
  await hasher.save();
  return d;
}

async function indexFile(): Promise<string> {
  const names = await readdir(indexDir);
  assert.equal(names.length, 1);
  return join(indexDir, names[0]!);
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

describe("the context stat index", () => {
  it("gives the same digest as reading every file, and records each file's digest by its stat", async () => {
    const plain = await hashSelection({ root, files: await listContextFiles({ root }) });
    assert.equal(await build(), plain);
    const doc = JSON.parse(await readFile(await indexFile(), "utf8"));
    assert.equal(doc.root, await realpath(root));
    const a = doc.files.find((f: unknown[]) => f[0] === "a.txt");
    const st = await stat(join(root, "a.txt"));
    assert.deepEqual(a, ["a.txt", st.size, st.mtimeMs, st.ctimeMs, st.ino, st.dev, st.mode, sha("alpha\n")]);
    assert.equal(await build(), plain);
  });

  it("answers from the record without reading a file whose stat is unchanged", async () => {
    // A record that names other content for a.txt's exact stat is believed: proof the file was not read.
    const file = await indexFile();
    const doc = JSON.parse(await readFile(file, "utf8"));
    const truth = await build();
    for (const f of doc.files) if (f[0] === "a.txt") f[7] = sha("not what the file holds");
    await writeFile(file, JSON.stringify(doc));
    assert.notEqual(await build(), truth);
    // Cleaned up: the true record comes back once a.txt changes.
    await writeFile(join(root, "a.txt"), "alpha\n");
    assert.equal(await build(), truth);
  });

  it("reads a file again when it changed, even with its size and mtime put back", async () => {
    const before = await build();
    const st = await stat(join(root, "b.txt"));
    await writeFile(join(root, "b.txt"), "BETA\n");
    await utimes(join(root, "b.txt"), st.atime, st.mtime);
    const after = await build();
    assert.notEqual(after, before);
    assert.equal(after, await hashSelection({ root, files: await listContextFiles({ root }) }));
  });

  it("does not record a file that changed just before it was read", async () => {
    await rm(indexDir, { recursive: true, force: true });
    await writeFile(join(root, "a.txt"), "fresh\n");
    await build(60_000);
    // Every file here changed within the last minute: none is recorded, so there is nothing to write.
    assert.deepEqual(await readdir(indexDir).catch(() => []), []);
  });

  it("ignores an index it cannot read or that was not written for this context, and replaces it", async () => {
    const truth = await hashSelection({ root, files: await listContextFiles({ root }) });
    await build();
    const file = await indexFile();
    for (const bad of [
      "{ torn",
      JSON.stringify({ v: 1, root: "/elsewhere", files: [["a.txt", 0, 0, 0, 0, 0, 0, sha("x")]] }),
      JSON.stringify({ v: 1, root: await realpath(root), files: [["a.txt", "1", {}, null], 7, "__proto__"] }),
      JSON.stringify({ v: 99, root: await realpath(root), files: [] }),
    ]) {
      await writeFile(file, bad);
      assert.equal(await build(), truth, bad);
      assert.equal(JSON.parse(await readFile(file, "utf8")).v, 1, "a good index replaces the bad one");
    }
  });
});
