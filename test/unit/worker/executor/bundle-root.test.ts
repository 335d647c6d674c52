import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const module = new URL("../../../../src/worker/executor/bundle-root.ts", import.meta.url).href;

/** One process making and removing `rounds` bundles in `root`, as the steps of one build do. */
function churn(root: string, tag: string, rounds: number): Promise<{ code: number | null; stderr: string }> {
  const script = `
    const { makeBundleDir, removeBundleDir } = await import(${JSON.stringify(module)});
    for (let i = 0; i < ${rounds}; i++) {
      const id = ${JSON.stringify(tag)} + "-" + i;
      await makeBundleDir(process.argv[1], id);
      await removeBundleDir(process.argv[1], id);
    }`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, root], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

// Builds on one state root share its bundle root; the last bundle out removes the root. A build making a
// bundle while another removes the empty root must make the root again, not fail (seen as ENOENT lstat /
// mkdir of the root with 4 concurrent builds).
test("bundles made and removed at once by several processes in one root never fail", async () => {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-bundle-root-"));
  const root = join(dir, "bundles");
  try {
    const results = await Promise.all(["a", "b", "c", "d"].map((tag) => churn(root, tag, 400)));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    await assert.rejects(stat(root), { code: "ENOENT" });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
