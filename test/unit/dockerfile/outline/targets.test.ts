import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatTargetsText, targetsToJson } from "../../../../src/dockerfile/outline/format.ts";
import { listTargets } from "../../../../src/dockerfile/outline/targets.ts";
import { parseDockerfile } from "../../../../src/dockerfile/parse/index.ts";

const text = [
  "ARG GO=1.22",
  "# builder compiles the binary",
  "FROM --platform=$BUILDPLATFORM golang:$GO AS builder",
  "RUN true",
  "",
  "# a plain comment is not a description",
  "FROM alpine AS Tester",
  "",
  "FROM builder",
  "# release the shipped image",
  "FROM scratch AS release",
].join("\n");

describe("--call targets", () => {
  const targets = listTargets(parseDockerfile(text, { file: "Dockerfile" }));

  test("lists every stage in order with its base, platform flag and description; the last is the default", () => {
    assert.deepEqual(
      targets.map((t) => [t.name, t.default, t.description, t.base, t.platform, t.pos.line]),
      [
        ["builder", false, "compiles the binary", "golang:$GO", "$BUILDPLATFORM", 3],
        ["tester", false, "", "alpine", undefined, 7],
        [undefined, false, "", "builder", undefined, 9],
        ["release", true, "the shipped image", "scratch", undefined, 11],
      ],
    );
  });

  test("text is a TARGET/DESCRIPTION table with the default marked", () => {
    assert.equal(
      formatTargetsText(targets),
      [
        "TARGET            DESCRIPTION",
        "builder           compiles the binary",
        "tester",
        "",
        "release (default) the shipped image",
        "",
      ].join("\n"),
    );
  });

  test("an unnamed last stage is shown as (default)", () => {
    const only = listTargets(parseDockerfile("FROM busybox\n", { file: "Dockerfile" }));
    assert.equal(formatTargetsText(only), "TARGET    DESCRIPTION\n(default)\n");
  });

  test("JSON has BuildKit's fields", () => {
    const json = targetsToJson(targets) as { targets: Record<string, unknown>[] };
    assert.deepEqual(json.targets[0], {
      name: "builder",
      description: "compiles the binary",
      base: "golang:$GO",
      platform: "$BUILDPLATFORM",
      location: { ranges: [{ start: { line: 3, character: 0 }, end: { line: 3, character: 0 } }] },
    });
    assert.equal(json.targets[3]?.default, true);
  });
});
