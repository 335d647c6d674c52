import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fsyncDir, writeFileAtomic } from "../../../src/fsutil/atomic-file.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-atomic-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("many records written at once into one directory all land whole, with no temp file left", async () => {
  const records = join(dir, "records");
  await mkdir(records);
  const names = Array.from({ length: 40 }, (_, i) => `r${i}.json`);
  await Promise.all(names.map((n, i) => writeFileAtomic(join(records, n), JSON.stringify({ i }))));
  assert.deepEqual((await readdir(records)).sort(), [...names].sort());
  for (const [i, n] of names.entries())
    assert.deepEqual(JSON.parse(await readFile(join(records, n), "utf8")), { i });
});

test("a directory sync that fails rejects every caller waiting on it, and a later call syncs again", async () => {
  const gone = join(dir, "gone");
  const results = await Promise.allSettled([fsyncDir(gone), fsyncDir(gone), fsyncDir(gone)]);
  for (const r of results) {
    assert.equal(r.status, "rejected");
    assert.equal((r as PromiseRejectedResult).reason.code, "ENOENT");
  }
  await mkdir(gone);
  await fsyncDir(gone);
  await Promise.all([fsyncDir(gone), fsyncDir(gone)]);
});

test("an advisory record (durableName false) is still written whole", async () => {
  const path = join(dir, "hint.json");
  await writeFileAtomic(path, '{"a":"b"}', { durableName: false });
  assert.equal(await readFile(path, "utf8"), '{"a":"b"}');
  assert.deepEqual(
    (await readdir(dir)).filter((n) => n.includes(".tmp-")),
    [],
  );
});
