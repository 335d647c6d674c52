// scripts/check-layers.mjs: the layer rules are checked, not hoped for. The real tree passes; a copy of
// the script over a planted tree fails on a folder arrow that points up, on a sub-folder arrow, and on a
// reach past a seam (the solver into worker/ other than the Worker interface).
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { run } from "../../harness/exec.ts";

const script = new URL("../../../scripts/check-layers.mjs", import.meta.url).pathname;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-layers-"));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Runs a copy of the script over a tree of `files` (path under src/ → text). */
async function checkTree(name: string, files: Record<string, string>) {
  const root = join(dir, name);
  await mkdir(join(root, "scripts"), { recursive: true });
  await copyFile(script, join(root, "scripts", "check-layers.mjs"));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, "src", path)), { recursive: true });
    await writeFile(join(root, "src", path), text);
  }
  return run(process.execPath, [join(root, "scripts", "check-layers.mjs")]);
}

const parts = {
  "worker/worker.ts": "export interface Worker {}\n",
  "worker/executor/executor.ts": "export class RuncExecutor {}\n",
  "worker/local/local-worker.ts": 'import { RuncExecutor } from "../executor/executor.ts";\n',
  "worker/layer/differ.ts": "export const x = 1;\n",
};

describe("check-layers", () => {
  test("the source tree keeps every rule", async () => {
    const r = await run(process.execPath, [script]);
    assert.equal(r.code, 0, r.stderr);
  });

  test("the solver using the Worker interface, and api/ building the local worker, pass", async () => {
    const r = await checkTree("good", {
      ...parts,
      "solver/solver.ts": 'import type { Worker } from "../worker/worker.ts";\n',
      "api/build.ts": 'const m = await import("../worker/local/local-worker.ts");\n',
    });
    assert.equal(r.code, 0, r.stderr);
  });

  test("the solver reaching into worker/executor fails, naming the seam", async () => {
    const r = await checkTree("seam", {
      ...parts,
      "solver/run-exec.ts": 'import { RuncExecutor } from "../worker/executor/executor.ts";\n',
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /src\/solver\/run-exec\.ts: imports \.\.\/worker\/executor\/executor\.ts \(the solver is given a Worker/,
    );
  });

  test("the solver constructing the local worker fails", async () => {
    const r = await checkTree("root", {
      ...parts,
      "solver/solver.ts": 'const { LocalWorker } = await import("../worker/local/local-worker.ts");\n',
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /src\/solver\/solver\.ts: imports \.\.\/worker\/local\/local-worker\.ts/);
  });

  test("a sub-folder arrow that is not allowed fails (worker/layer importing worker/executor)", async () => {
    const r = await checkTree("sub", {
      ...parts,
      "worker/layer/differ.ts": 'import { RuncExecutor } from "../executor/executor.ts";\n',
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /worker\/layer\/ may not depend on worker\/executor\//);
  });

  test("a folder arrow that points up fails (oci/ importing registry/)", async () => {
    const r = await checkTree("up", {
      "oci/x.ts": 'import { y } from "../registry/y.ts";\n',
      "registry/y.ts": "",
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /oci\/ may not depend on registry\//);
  });
});
