// The context's content digests (solver/context-hash.ts) and their stat index: a context file swapped for
// a link to a host file between the listing and the read is never read through the link (the build fails
// with the "context changed" error), and names a hostile context chooses cannot confuse the index.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { listContextFiles } from "../../src/dockerfile/context/list-files.ts";
import { ContextHasher, hashSelection } from "../../src/solver/context-hash.ts";
import { attack } from "./support/attack.ts";

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), "polyarch-attack-statindex-"));
});
after(() => rm(work, { recursive: true, force: true }));

attack("a context file swapped for a link to a host file after the listing is not read", async (c) => {
  const root = join(work, "swap");
  await mkdir(root);
  await writeFile(join(root, "config"), "mine\n");
  const files = await listContextFiles({ root });
  await unlink(join(root, "config"));
  await symlink(c.etcFile, join(root, "config"));
  const hostDigest = createHash("sha256")
    .update(await readFile(c.etcFile))
    .digest("hex");
  const indexDir = join(work, "swap-index");
  const hasher = new ContextHasher(indexDir, { settleMs: 0 });
  await assert.rejects(hashSelection({ root, files }, hasher), (e: Error) => {
    assert.match(
      e.message,
      /the build context changed while it was read: config is no longer a regular file/,
    );
    assert.ok(!e.message.includes("canary"), "the error quotes the host file");
    return true;
  });
  await hasher.save();
  const written = await readdir(indexDir).catch(() => []);
  for (const name of written)
    assert.ok(
      !(await readFile(join(indexDir, name), "utf8")).includes(hostDigest),
      "the host file was hashed",
    );
});

attack("context file names that are object keys elsewhere are plain paths in the index", async () => {
  const root = join(work, "names");
  await mkdir(root);
  const names = ["__proto__", "constructor", "hasOwnProperty", "toString", "a\nb", '"quoted"', "ünï"];
  for (const [i, n] of names.entries()) await writeFile(join(root, n), `file ${i}\n`);
  const indexDir = join(work, "names-index");
  const plain = await hashSelection({ root, files: await listContextFiles({ root }) });
  for (let round = 0; round < 2; round++) {
    const hasher = new ContextHasher(indexDir, { settleMs: 0 });
    assert.equal(await hashSelection({ root, files: await listContextFiles({ root }) }, hasher), plain);
    await hasher.save();
  }
  const [file] = await readdir(indexDir);
  const doc = JSON.parse(await readFile(join(indexDir, file!), "utf8"));
  assert.deepEqual(doc.files.map((f: unknown[]) => f[0]).sort(), [...names].sort());
  assert.equal(Object.getPrototypeOf({}), Object.prototype, "the prototype is untouched");
});
