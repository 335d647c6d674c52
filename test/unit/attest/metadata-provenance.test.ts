import assert from "node:assert/strict";
import { test } from "node:test";
import { metadataProvenance, metadataProvenanceMode } from "../../../src/attest/metadata-provenance.ts";

test("BUILDX_METADATA_PROVENANCE is read as buildx reads it", () => {
  assert.equal(metadataProvenanceMode(undefined), "min");
  assert.equal(metadataProvenanceMode(""), "min");
  assert.equal(metadataProvenanceMode("min"), "min");
  assert.equal(metadataProvenanceMode("max"), "max");
  assert.equal(metadataProvenanceMode("disabled"), undefined);
  assert.equal(metadataProvenanceMode("false"), undefined);
  assert.equal(metadataProvenanceMode("0"), undefined);
  assert.equal(metadataProvenanceMode("true"), "min");
  assert.equal(metadataProvenanceMode("MAX"), "min", "buildx matches the words exactly");
});

const v1 = {
  buildDefinition: {
    buildType: "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md",
    resolvedDependencies: [
      { uri: "pkg:docker/busybox@latest?platform=linux%2Farm64", digest: { sha256: "ab" } },
    ],
    externalParameters: {
      configSource: { uri: "https://example.com/repo.git#main", path: "build/Dockerfile" },
      request: { frontend: "dockerfile.v0", args: { "build-arg:A": "1" }, locals: [] },
    },
    internalParameters: {
      buildConfig: { llbDefinition: [{ id: "step0" }], digestMapping: { "sha256:00": "step0" } },
      builderPlatform: "linux/amd64",
    },
  },
  runDetails: {
    builder: { id: "" },
    metadata: {
      invocationID: "abc",
      startedOn: "2026-01-01T00:00:00Z",
      finishedOn: "2026-01-01T00:00:01Z",
      buildkit_metadata: { source: { infos: [] } },
      buildkit_completeness: { request: true, resolvedDependencies: false },
    },
  },
};

test("a v1 predicate becomes the v0.2 one buildx writes: min drops buildConfig, metadata and an empty builder", () => {
  assert.deepEqual(metadataProvenance(v1, "min", "Dockerfile"), {
    buildType: "https://mobyproject.org/buildkit@v1",
    invocation: {
      // A remote context's own path wins over the local Dockerfile name.
      configSource: { uri: "https://example.com/repo.git#main", entryPoint: "build/Dockerfile" },
      parameters: { frontend: "dockerfile.v0", args: { "build-arg:A": "1" }, locals: [] },
      environment: { platform: "linux/amd64" },
    },
    materials: v1.buildDefinition.resolvedDependencies,
  });
  const max = metadataProvenance(
    { ...v1, runDetails: { ...v1.runDetails, builder: { id: "https://ci.example/run/1" } } },
    "max",
    undefined,
  );
  assert.deepEqual(max.builder, { id: "https://ci.example/run/1" });
  assert.deepEqual(max.buildConfig, v1.buildDefinition.internalParameters.buildConfig);
  assert.deepEqual(max.metadata, {
    buildInvocationID: "abc",
    buildStartedOn: "2026-01-01T00:00:00Z",
    buildFinishedOn: "2026-01-01T00:00:01Z",
    completeness: { parameters: true, environment: true, materials: false },
    reproducible: false,
    "https://mobyproject.org/buildkit@v1#metadata": { source: { infos: [] } },
  });
});
