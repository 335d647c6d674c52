/**
 * Differential: the modes of instructions (COPY --chmod on the directories it makes, flags on ARG and
 * STOPSIGNAL, the escape character in flags, ONBUILD triggers, RUN --network, the syntax directive), built by
 * BuildKit and by polyarch; what a user observes must be the same.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { TreeEntry } from "../harness/buildkit.ts";
import { assertSameError, assertSameTree, Differential } from "./support.ts";

let d: Differential;
before(async () => {
  d = await Differential.start();
});
after(() => d?.[Symbol.asyncDispose]());

test("COPY --chmod: the directories it creates get an octal mode; existing ones and symbolic modes do not", async () => {
  const dockerfile = [
    `FROM ${d.base}`,
    "RUN mkdir -p /ex/d && chmod 750 /ex/d",
    "COPY --chmod=777 foo /parent/foo",
    "COPY --chmod=711 dir /ex/d",
    "COPY --chmod=701 dir /ex/new",
    "COPY --chmod=705 foo dir /multi/m/",
    "COPY --link --chmod=700 foo /l1/l2/foo",
    "COPY --chmod=0750 foo /tmp/",
    "COPY --chmod=u+x foo /sym/s/foo",
    "",
  ].join("\n");
  const seen = await d.both(
    { Dockerfile: dockerfile, foo: "x\n", "dir/sub/f": "y\n" },
    { output: "local" },
  );
  // Only what the COPYs made: BuildKit's local export does not keep the base image's owners (/home/app).
  const made = (tree: TreeEntry[] | undefined) =>
    tree?.filter((e) => /^(ex|parent|multi|l1|tmp|sym)(\/|$)/.test(e.path));
  assert.ok(seen.buildkit.ok && seen.polyarch.ok, seen.buildkit.output + seen.polyarch.output);
  assert.deepEqual(made(seen.polyarch.tree), made(seen.buildkit.tree));
  const mode = (path: string) => seen.polyarch.tree?.find((e) => e.path === path)?.mode;
  assert.equal(mode("parent"), "777");
  assert.equal(mode("l1/l2"), "700");
  assert.equal(mode("ex/d"), "750");
  assert.equal(mode("sym/s"), "755");
});
