// Two `polyarch create --append` at once: each reads the builder file, adds its node and writes it back.
// Under the builder's lock every node lands; without it the last write drops the others'.
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BuilderStore } from "../../../../src/api/builders/builder-store.ts";
import { changeBuilder } from "../../../../src/api/builders/change-builder.ts";
import "../../../../src/api/builders/ssh-driver.ts";

test("parallel create --append of one builder keeps every node, and leaves no lock behind", async () => {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-builder-lock-"));
  try {
    const store = new BuilderStore(dir);
    await changeBuilder(store, { name: "par", platforms: [], endpoint: "ssh://u@127.0.0.2" });
    // Each its own store object, as separate processes would have (no shared memory of the file).
    await Promise.all(
      [1, 2, 3, 4, 5].map((i) =>
        changeBuilder(new BuilderStore(dir), {
          name: "par",
          node: `n${i}`,
          append: true,
          platforms: [],
          endpoint: `ssh://u@127.0.0.${i + 2}`,
        }),
      ),
    );
    const b = await store.get("par");
    assert.deepEqual(b.nodes.map((n) => n.name).sort(), ["n1", "n2", "n3", "n4", "n5", "par0"]);
    assert.deepEqual(await readdir(join(dir, "locks")), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
