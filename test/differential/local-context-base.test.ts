/**
 * Differential: an image whose final stage starts FROM a named local context (`--build-context
 * base=./dir`, then `FROM base`). BuildKit makes the directory the image's first layer, on nothing, and
 * the stage's steps follow it; what a user observes must be the same (files, layers, config).
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { assertSameTree, Differential } from "./support.ts";

let d: Differential;
let base: string;
before(async () => {
  d = await Differential.start();
  base = join(d.dir, "base-dir");
  await mkdir(join(base, "sub"), { recursive: true });
  await writeFile(join(base, "sub/f"), "from the named context\n");
  await writeFile(join(base, "top"), "top\n");
});
after(() => d?.[Symbol.asyncDispose]());

const contexts = () => ({
  buildkitArgs: ["--local", `base=${base}`, "--opt", "context:base=local:base"],
  polyarchArgs: ["--build-context", `base=${base}`],
});

test("the final stage FROM a named local context: its files, then the stage's", async () => {
  const files = { Dockerfile: "FROM base\nENV A=1\nCOPY x /x\n", x: "x\n" };
  assertSameTree(await d.both(files, { output: "local", ...contexts() }));
  const seen = await d.both(files, { output: "oci", ...contexts() });
  assert.ok(seen.buildkit.ok && seen.polyarch.ok, seen.buildkit.output + seen.polyarch.output);
  const pick = (c: Record<string, unknown> | undefined) => {
    const config = (c?.config ?? {}) as Record<string, unknown>;
    const rootfs = c?.rootfs as { diff_ids: string[] } | undefined;
    return { Env: config.Env, WorkingDir: config.WorkingDir, layers: rootfs?.diff_ids.length, os: c?.os };
  };
  assert.deepEqual(pick(seen.polyarch.config), pick(seen.buildkit.config));
  assert.equal(pick(seen.polyarch.config).layers, 2);
  // polyarch's history names the context's layer first, where it is (BuildKit appends an entry last).
  const history = (seen.polyarch.config?.history ?? []) as { created_by?: string; empty_layer?: boolean }[];
  assert.deepEqual(
    history.map((h) => [h.created_by, h.empty_layer ?? false]),
    [
      ["FROM base (named context)", false],
      ["ENV A=1", true],
      ["COPY x /x # buildkit", false],
    ],
  );
});

test("a stage FROM a stage that starts from a named local context keeps its layer", async () => {
  const files = { Dockerfile: "FROM base AS b\nCOPY x /x\nFROM b\nCOPY y /y\n", x: "x\n", y: "y\n" };
  assertSameTree(await d.both(files, { output: "local", ...contexts() }));
  const seen = await d.both(files, { output: "oci", ...contexts() });
  assert.ok(seen.buildkit.ok && seen.polyarch.ok, seen.buildkit.output + seen.polyarch.output);
  const layers = (c: Record<string, unknown> | undefined) =>
    (c?.rootfs as { diff_ids: string[] } | undefined)?.diff_ids.length;
  assert.equal(layers(seen.polyarch.config), layers(seen.buildkit.config));
  assert.equal(layers(seen.polyarch.config), 3);
});
