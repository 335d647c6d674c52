/**
 * Differential: which platforms of one build share a `RUN --mount=type=cache` directory. BuildKit keys a
 * cache mount by its id alone, so an arm64 step and an amd64 step see each other's files (buildkit#2598);
 * polyarch gives each execution platform its own directory unless the mount names an `id` and says
 * `sharing=shared`, and a `FROM --platform=$BUILDPLATFORM` stage (whose steps all run on the build
 * platform) shares one directory across target platforms, as both do.
 *
 * Each step adds its name to the cache, waits (a bound, not an assertion) for a second name to appear,
 * and records the names it saw.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { TreeEntry } from "../harness/buildkit.ts";
import { Differential } from "./support.ts";

let d: Differential;
before(async () => {
  d = await Differential.start();
});
after(() => d?.[Symbol.asyncDispose]());

// Where both share, the wait is long (the other platform's step may start late under emulation, and the
// wait ends as soon as it writes); where BuildKit shares and polyarch keeps them apart, 10 seconds (only
// polyarch waits them out).
const seen = (dir: string, name: string, out: string, tenths = 100) =>
  `echo ${name} >> ${dir}/names; i=0; while [ "$(sort -u ${dir}/names | wc -l)" -lt 2 ] && [ $i -lt ${tenths} ]; do sleep 0.1; i=$((i+1)); done; mkdir -p /out; sort -u ${dir}/names > ${out}`;

const dockerfile = (base: string) =>
  [
    `FROM --platform=$BUILDPLATFORM ${base} AS tool`,
    "ARG TARGETARCH",
    `RUN --mount=type=cache,target=/c4 ${seen("/c4", "$TARGETARCH", "/out/buildplatform", 300)}`,
    `FROM ${base}`,
    `RUN --mount=type=cache,target=/c1 ${seen("/c1", "$(uname -m)", "/out/default")}`,
    `RUN --mount=type=cache,target=/c2,id=all,sharing=shared ${seen("/c2", "$(uname -m)", "/out/shared", 300)}`,
    `RUN --mount=type=cache,target=/c3,id=named ${seen("/c3", "$(uname -m)", "/out/named")}`,
    "COPY --from=tool /out/buildplatform /out/buildplatform",
    "",
  ].join("\n");

const content = (tree: TreeEntry[] | undefined, path: string) =>
  tree
    ?.find((e) => e.path === path)
    ?.content?.trim()
    .split("\n");

test("cache mounts across the platforms of one build: BuildKit shares by id, polyarch per platform", async () => {
  const both = await d.both(
    { Dockerfile: dockerfile(d.base) },
    { output: "local", platform: "linux/amd64,linux/arm64" },
  );
  assert.ok(both.buildkit.ok, both.buildkit.output);
  assert.ok(both.polyarch.ok, both.polyarch.output);
  const all = ["aarch64", "x86_64"];
  for (const p of ["linux_amd64", "linux_arm64"]) {
    const own = p === "linux_amd64" ? ["x86_64"] : ["aarch64"];
    // BuildKit: one directory per id, whatever the platform.
    assert.deepEqual(content(both.buildkit.tree, `${p}/out/default`), all);
    assert.deepEqual(content(both.buildkit.tree, `${p}/out/named`), all);
    assert.deepEqual(content(both.buildkit.tree, `${p}/out/shared`), all);
    assert.deepEqual(content(both.buildkit.tree, `${p}/out/buildplatform`), ["amd64", "arm64"]);
    // polyarch: each platform its own, unless id + sharing=shared; the build-platform stage shares.
    assert.deepEqual(content(both.polyarch.tree, `${p}/out/default`), own);
    assert.deepEqual(content(both.polyarch.tree, `${p}/out/named`), own);
    assert.deepEqual(content(both.polyarch.tree, `${p}/out/shared`), all);
    assert.deepEqual(content(both.polyarch.tree, `${p}/out/buildplatform`), ["amd64", "arm64"]);
  }
});
