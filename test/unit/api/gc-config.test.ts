import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { gcPolicy } from "../../../src/api/store-gc.ts";
import { UserError } from "../../../src/errors/user-error.ts";

async function withConfig(
  text: string | undefined,
  fn: (env: NodeJS.ProcessEnv, dir: string) => Promise<void>,
) {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-gc-config-"));
  try {
    const { mkdir } = await import("node:fs/promises");
    await mkdir(join(dir, "polyarch"));
    if (text !== undefined) await writeFile(join(dir, "polyarch", "polyarch.toml"), text);
    await fn({ XDG_CONFIG_HOME: dir }, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("the limit: environment, then polyarch.toml in the XDG config dir, then 10% of the disk (at most 20 GB)", async () => {
  await withConfig('[gc]\nkeep-storage = "3GB"\n', async (env, dir) => {
    assert.deepEqual(await gcPolicy(dir, env), {
      enabled: true,
      keepStorageBytes: 3 * 1024 ** 3,
      source: join(dir, "polyarch", "polyarch.toml"),
    });
    const fromEnv = await gcPolicy(dir, { ...env, POLYARCH_GC_KEEP_STORAGE: "100MB" });
    assert.equal(fromEnv.keepStorageBytes, 100 * 1024 ** 2);
    assert.equal(fromEnv.source, "POLYARCH_GC_KEEP_STORAGE");
  });
  await withConfig(undefined, async (env, dir) => {
    const p = await gcPolicy(dir, env);
    assert.equal(p.source, "default");
    assert.ok(p.keepStorageBytes > 0 && p.keepStorageBytes <= 20 * 1024 ** 3);
  });
});

test("POLYARCH_GC=off or enabled = false turns it off", async () => {
  await withConfig("[gc]\nenabled = false\n", async (env, dir) => {
    assert.equal((await gcPolicy(dir, env)).enabled, false);
  });
  await withConfig(undefined, async (env, dir) => {
    assert.equal((await gcPolicy(dir, { ...env, POLYARCH_GC: "off" })).enabled, false);
    assert.equal((await gcPolicy(dir, env)).enabled, true);
  });
});

test("a bad polyarch.toml is a UserError naming the file, the line and what to write", async () => {
  await withConfig('[gc]\nkeep-storage = "3GB\n', async (env, dir) => {
    await assert.rejects(
      gcPolicy(dir, env),
      (e) => e instanceof UserError && /polyarch\.toml:2:\d+: not valid TOML/.test(e.message),
    );
  });
  await withConfig("[gc]\nkeep = 1\n", async (env, dir) => {
    await assert.rejects(
      gcPolicy(dir, env),
      (e) => e instanceof UserError && /\[gc\] keep is not a setting/.test(e.message),
    );
  });
  await withConfig('[gc]\nkeep-storage = "lots"\n', async (env, dir) => {
    await assert.rejects(
      gcPolicy(dir, env),
      (e) => e instanceof UserError && /keep-storage: invalid size "lots"/.test(e.message),
    );
  });
  await withConfig('gc = "yes"\n', async (env, dir) => {
    await assert.rejects(gcPolicy(dir, env), /gc must be a table/);
  });
});
