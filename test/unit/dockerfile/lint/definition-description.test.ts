// InvalidDefinitionDescription, BuildKit's experimental check of description comments (checked against
// BuildKit v0.24's frontend.lint on the same files): the last comment line above a named FROM or an ARG
// must start with its name; an indented comment keeps its `#`, so it never does.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { lintDockerfile } from "../../../../src/dockerfile/lint/lint.ts";
import { parseDockerfile } from "../../../../src/dockerfile/parse/index.ts";

const amd64 = { os: "linux", architecture: "amd64" };
const found = (text: string) =>
  lintDockerfile(parseDockerfile(text), { platform: amd64, buildPlatform: amd64 }).findings.map(
    (f) => `${f.rule}@${f.range.start.line}: ${f.detail}`,
  );

const file = [
  "# a first line",
  "# second line",
  "FROM scratch AS a",
  "# b last",
  "FROM scratch AS b",
  "  # c indented",
  "FROM scratch AS c",
  "# y z",
  "ARG x=1 y=2",
  "# nothing",
  "ARG q",
  "# no name to describe",
  "FROM scratch",
  "",
].join("\n");

describe("InvalidDefinitionDescription", () => {
  test("runs only when # check=experimental asks for it", () => {
    assert.deepEqual(found(file), []);
    const expected = [
      "InvalidDefinitionDescription@3: Comment for FROM should follow the format: `# a <description>`",
      "InvalidDefinitionDescription@7: Comment for FROM should follow the format: `# c <description>`",
      "InvalidDefinitionDescription@11: Comment for ARG should follow the format: `# q <description>`",
    ];
    assert.deepEqual(found(`# check=experimental=all\n${file}`).map(shift), expected);
    assert.deepEqual(
      found(`# check=experimental=InvalidDefinitionDescription\n${file}`).map(shift),
      expected,
    );
    assert.deepEqual(found(`# check=experimental=all;skip=InvalidDefinitionDescription\n${file}`), []);
  });
});

// The directive line moves every finding down by one.
function shift(f: string): string {
  return f.replace(/@(\d+):/, (_, n) => `@${Number(n) - 1}:`);
}
