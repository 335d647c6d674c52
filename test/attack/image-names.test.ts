// Stored image names are references, never paths: a name aimed at host files (`..`, absolute paths) is
// refused before anything is written, and a name that looks like one of the store's own records (the
// layer cache) is kept apart from them, so it can neither replace nor remove a cache record.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { polyarch } from "../support/cli.ts";
import { attack } from "./support/attack.ts";

let work: string;
let context: string;
let state: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "polyarch-attack-names-"));
  context = join(work, "context");
  state = join(work, "state");
  await mkdir(context);
  await writeFile(join(context, "Dockerfile"), "FROM scratch\nCOPY a /a\n");
  await writeFile(join(context, "a"), "a\n");
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const cli = (args: string[]) => polyarch(args, { env: { POLYARCH_ROOT: state } });

attack("image names aimed at host paths are refused by build, tag, rmi, save and push", async (canaries) => {
  assert.equal((await cli(["build", "--progress=plain", "-t", "ok:1", context])).code, 0);
  const hostile = [
    `../../../..${canaries.etcFile}`,
    canaries.tmpDir,
    `../${canaries.shmFile}`,
    `ok/../../..${canaries.etcFile}:1`,
  ];
  for (const name of hostile) {
    for (const args of [
      ["build", "--progress=plain", "-t", name, context],
      ["tag", "ok:1", name],
      ["rmi", name],
      ["save", "-o", join(work, "out.tar"), name],
      ["push", name],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 1, `${args.join(" ")} must fail`);
      assert.match(r.stderr, /invalid image reference|repository/i, `${args.join(" ")}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /looks like a bug/);
    }
  }
  const images = JSON.parse((await cli(["images", "--format", "json"])).stdout) as { name: string }[];
  assert.deepEqual(
    images.map((i) => i.name),
    ["docker.io/library/ok:1"],
  );
});

attack("a name spelled like the store's cache records never replaces or removes one", async () => {
  const built = await cli(["build", "--progress=plain", "-t", "ok:2", context]);
  assert.equal(built.code, 0, built.stderr);
  const refs = async () => (await readdir(join(state, "content", "refs"))).sort();
  const before = await refs();
  const name = "polyarch.io/cache/layer/x:1";
  assert.equal((await cli(["tag", "ok:2", name])).code, 0);
  assert.equal((await cli(["rmi", name])).code, 0);
  assert.deepEqual(await refs(), before, "only the image store's own entry came and went");
  const rebuilt = await cli(["build", "--progress=plain", "-t", "ok:2", context]);
  assert.match(rebuilt.stderr, /CACHED/);
});
