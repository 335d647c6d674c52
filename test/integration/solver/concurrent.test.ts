// Two polyarch processes building the same thing on one state directory at the same time: both succeed
// with the same image, and a step runs once (the other process waits on its lock and takes the result).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { hostPlatform } from "../../../src/oci/platform.ts";
import { cacheMountDirName, cacheMountKey } from "../../../src/solver/cache-mount-key.ts";
import { run } from "../../harness/exec.ts";
import { BuildFixture } from "../build/fixture.ts";

let fx: BuildFixture;
before(async () => {
  fx = await BuildFixture.create();
});
after(async () => {
  await fx?.dispose();
});

test("two processes on one state dir: same digest, the RUN ran once, the cache is intact", async () => {
  const ctx = await fx.context({
    Dockerfile: `FROM ${fx.base}
RUN --mount=type=cache,target=/cache echo run >> /cache/runs && sleep 1 && echo done > /result
COPY a.txt /a.txt
`,
    "a.txt": "a\n",
  });
  const child = new URL("./build-child.ts", import.meta.url).pathname;
  const [a, b] = await Promise.all(
    ["a", "b"].map((n) =>
      run(process.execPath, [child, ctx, fx.stateRoot, join(fx.dir, `${n}.tar`)], { timeoutMs: 120_000 }),
    ),
  );
  assert.equal(a!.code, 0, a!.stderr);
  assert.equal(b!.code, 0, b!.stderr);
  const ra = JSON.parse(a!.stdout) as { digest: string; started: string[] };
  const rb = JSON.parse(b!.stdout) as { digest: string; started: string[] };
  assert.equal(ra.digest, rb.digest);
  const cacheDir = join(
    fx.stateRoot,
    "solver",
    "cache-mounts",
    // The host platform's own directory of that id (cache mounts are kept per platform).
    cacheMountDirName(cacheMountKey({ id: "/cache" }, hostPlatform())),
  );
  assert.equal(await readFile(join(cacheDir, "runs"), "utf8"), "run\n", "the RUN ran in one process only");

  // The cache both wrote is consistent: a third build runs nothing and gives the same image.
  const third = await fx.build(ctx, { platforms: undefined });
  assert.equal(third.descriptor.digest, ra.digest);
  assert.deepEqual(
    third.progress.started().filter((n) => n.startsWith("[") && !/^\[(\S+ )?internal\]/.test(n)),
    [],
  );
});
