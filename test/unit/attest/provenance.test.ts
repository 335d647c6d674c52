import assert from "node:assert/strict";
import { test } from "node:test";
import { provenancePredicate } from "../../../src/attest/provenance.ts";
import type { BuildGraph } from "../../../src/graph/types.ts";
import type { Digest } from "../../../src/oci/digest.ts";

// biome-ignore lint/suspicious/noExplicitAny: the predicate is read back as JSON
type Doc = any;

const d = (n: number) => `sha256:${String(n).padStart(64, "0")}` as Digest;
const linux = { os: "linux", architecture: "amd64" };

const graph: BuildGraph = {
  version: 1,
  vertices: {
    [d(1)]: {
      op: {
        kind: "source",
        source: {
          type: "git",
          remote: "https://user:s3cret@git.example/repo.git",
          ref: "main",
          keepGitDir: false,
        },
      },
      inputs: [],
    },
    [d(2)]: {
      op: {
        kind: "source",
        source: { type: "http", url: "https://tok3n@files.example/a.tgz", filename: "a.tgz", checksum: d(9) },
      },
      inputs: [],
    },
    [d(3)]: {
      op: {
        kind: "source",
        source: { type: "image", ref: "docker.io/library/alpine:3.20", digest: d(7), platform: linux },
      },
      inputs: [],
    },
    [d(4)]: { op: { kind: "merge" }, inputs: [d(3), d(1), d(2)] },
  },
};

test("dependencies: base images pinned, git and http sources, credentials never recorded", () => {
  const p = provenancePredicate({
    mode: "max",
    platform: linux,
    builderPlatform: linux,
    graph,
    root: d(4),
    args: { "build-arg:A": "1" },
    locals: [],
    configSource: { uri: "https://u:pw@git.example/ctx.git#main", path: "Dockerfile" },
  }) as Doc;
  const text = JSON.stringify(p);
  assert.doesNotMatch(text, /s3cret|tok3n|:pw@/);
  assert.deepEqual(p.buildDefinition.resolvedDependencies, [
    { uri: "pkg:docker/alpine@3.20?platform=linux%2Famd64", digest: { sha256: "7".padStart(64, "0") } },
    { uri: "https://git.example/repo.git#main" },
    { uri: "https://files.example/a.tgz", digest: { sha256: "9".padStart(64, "0") } },
  ]);
  assert.deepEqual(p.buildDefinition.externalParameters.configSource, {
    uri: "https://git.example/ctx.git#main",
    path: "Dockerfile",
  });
  assert.deepEqual(
    p.buildDefinition.internalParameters.buildConfig.llbDefinition.map((s: Doc) => [s.id, s.inputs]),
    [
      ["step0", undefined],
      ["step1", undefined],
      ["step2", undefined],
      ["step3", ["step0:0", "step1:0", "step2:0"]],
    ],
  );
});
