// The acceptance corpus: realistic Dockerfiles under test/fixtures/dockerfiles/, each with the outline,
// targets, check findings and graph shape it must give. Run with UPDATE_CORPUS=1 to rewrite the expected
// files after a deliberate change, then review the diff: every line of it is a behaviour change.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { corpusRoot, fixtureNames, summarize } from "./summarize.ts";

const update = process.env.UPDATE_CORPUS === "1";

describe("Dockerfile corpus", () => {
  const names = fixtureNames();

  test("holds at least 40 Dockerfiles, each with an expected result", () => {
    assert.ok(names.length >= 40, `only ${names.length} fixtures`);
    if (!update)
      for (const n of names)
        assert.ok(existsSync(join(corpusRoot, n, "expected.json")), `${n}: no expected.json`);
  });

  for (const name of names) {
    test(name, async () => {
      const actual = await summarize(name);
      const file = join(corpusRoot, name, "expected.json");
      if (update) {
        writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
        return;
      }
      assert.deepEqual(actual, JSON.parse(readFileSync(file, "utf8")));
    });
  }
});
