// CopyIgnoredFile, BuildKit's experimental check (compared with BuildKit v0.24's frontend.lint in
// test/differential/lint.test.ts): a COPY or ADD from the main context of a path its .dockerignore excludes,
// the path matched as written after expansion; COPY --from, URLs and remote contexts are not checked.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseIgnoreRules } from "../../../../src/dockerfile/context/ignore-rules.ts";
import { lintDockerfile } from "../../../../src/dockerfile/lint/lint.ts";
import { parseDockerfile } from "../../../../src/dockerfile/parse/index.ts";

const amd64 = { os: "linux", architecture: "amd64" };
const ignore = parseIgnoreRules("secret.txt\nlogs\n!logs/keep.log\n");
const found = (text: string, contextIgnores: ((p: string) => boolean) | null = ignore.ignores) =>
  lintDockerfile(parseDockerfile(text), {
    platform: amd64,
    buildPlatform: amd64,
    ...(contextIgnores ? { contextIgnores } : {}),
  }).findings.map((f) => `${f.rule}@${f.range.start.line}: ${f.detail}`);

describe("CopyIgnoredFile", () => {
  const file = [
    "# check=experimental=CopyIgnoredFile",
    "FROM scratch AS other",
    "FROM scratch",
    "ARG D=logs",
    "COPY secret.txt $D/a.log $D/keep.log ok.txt /",
    "ADD secret.txt https://example.com/secret.txt /",
    "COPY --from=other secret.txt /",
    "COPY ./secret.txt /",
    "",
  ].join("\n");

  test("reports each excluded source (parents and exceptions as .dockerignore has them)", () => {
    assert.deepEqual(found(file), [
      'CopyIgnoredFile@5: Attempting to Copy file "secret.txt" that is excluded by .dockerignore',
      'CopyIgnoredFile@5: Attempting to Copy file "logs/a.log" that is excluded by .dockerignore',
      'CopyIgnoredFile@6: Attempting to Add file "secret.txt" that is excluded by .dockerignore',
    ]);
  });

  test("runs only when asked for, and only with the main context's ignore rules", () => {
    assert.deepEqual(found(file.replace(/^# check=.*\n/, "")), []);
    assert.deepEqual(found(file, null), []);
  });
});
