/**
 * Differential: how stages are found by name when a name is given twice (BuildKit builds it with only a
 * DuplicateStageName warning): built by BuildKit and by polyarch, what a user observes must be the same.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertSameError, assertSameTree, Differential } from "./support.ts";

let d: Differential;
before(async () => {
  d = await Differential.start();
});
after(() => d?.[Symbol.asyncDispose]());

const files = (dockerfile: string[]) => ({
  Dockerfile: `${dockerfile.join("\n")}\n`,
  one: "1\n",
  two: "2\n",
});

test("a stage name given twice: --target and COPY --from take the later stage", async () => {
  const dockerfile = [
    "FROM scratch AS a",
    "COPY one /",
    "FROM scratch AS A",
    "COPY two /",
    "FROM scratch AS final",
    "COPY --from=a / /got/",
  ];
  for (const target of ["a", "final"]) {
    const seen = await d.both(files(dockerfile), { output: "local", target });
    assertSameTree(seen);
  }
  const final = await d.both(files(dockerfile), { output: "local" });
  assertSameTree(final);
  assert.deepEqual(
    final.polyarch.tree?.filter((e) => e.type === "file").map((e) => e.path),
    ["got/two"],
  );
});

test("a stage name given twice: FROM takes the latest stage before it; COPY --from between them fails", async () => {
  const dockerfile = [
    "FROM scratch AS a",
    "COPY one /",
    "FROM scratch AS b",
    "COPY --from=a / /got/",
    "FROM a AS c",
    "COPY two /c",
    "FROM scratch AS a",
    "COPY two /",
  ];
  const c = await d.both(files(dockerfile), { output: "local", target: "c" });
  assertSameTree(c);
  assert.deepEqual(
    c.polyarch.tree?.filter((e) => e.type === "file").map((e) => e.path),
    ["c", "one"],
  );
  const b = await d.both(files(dockerfile), { output: "local", target: "b" });
  assertSameError(b, 'cannot copy from stage "a", it needs to be defined before current stage "b"');
});
