// Acceptance (g) of issue 8: the automatic collection after each build keeps the state dir under the
// configured limit through a loop of 100 builds whose input changes every time; measured on disk after
// every build (all of the state dir, as `du` counts it), and the last build is still a cache hit.
import assert from "node:assert/strict";
import type { Dirent } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { checkState } from "../../fault/support/state-check.ts";
import { polyarch } from "../../support/cli.ts";

const builds = 100;
const limit = 1024 * 1024;

async function diskBytes(dir: string): Promise<number> {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    let entries: Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      const st = await lstat(p).catch(() => undefined);
      if (!st) continue;
      total += st.blocks * 512;
      if (st.isDirectory()) stack.push(p);
    }
  }
  return total;
}

test(`${builds} builds with changing inputs stay under POLYARCH_GC_KEEP_STORAGE`, async () => {
  const work = await mkdtemp(join(tmpdir(), "polyarch-gc-loop-"));
  try {
    const ctx = join(work, "ctx");
    await mkdir(ctx);
    await writeFile(
      join(ctx, "Dockerfile"),
      "FROM scratch\nCOPY data.txt /data.txt\nCOPY stamp.txt /stamp.txt\n",
    );
    const env = { POLYARCH_ROOT: join(work, "state"), POLYARCH_GC_KEEP_STORAGE: String(limit) };
    const sizes: number[] = [];
    let last = "";
    for (let i = 0; i < builds; i++) {
      // 20 kB of new data per build: without collection the loop would hold about 2 MB of layers alone.
      await writeFile(join(ctx, "data.txt"), `${i}\n`.repeat(5000));
      await writeFile(join(ctx, "stamp.txt"), `${i}\n`);
      const r = await polyarch(
        ["build", "--progress", "plain", "-o", `type=oci,dest=${join(work, "out.tar")}`, ctx],
        {
          env,
        },
      );
      assert.equal(r.code, 0, r.stderr);
      last = r.stderr;
      const size = await diskBytes(env.POLYARCH_ROOT);
      sizes.push(size);
      assert.ok(size <= limit, `after build ${i + 1} the state dir holds ${size} bytes, more than ${limit}`);
    }
    assert.doesNotMatch(last, /warning/i);
    // It did collect (the loop made far more than the limit), and what it kept is consistent and warm.
    assert.ok(Math.max(...sizes) > limit / 2, `sizes ${sizes.join(",")}`);
    assert.deepEqual((await checkState(env.POLYARCH_ROOT)).problems, []);
    const again = await polyarch(
      ["build", "--progress", "plain", "-o", `type=oci,dest=${join(work, "out.tar")}`, ctx],
      {
        env,
      },
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /CACHED/);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
