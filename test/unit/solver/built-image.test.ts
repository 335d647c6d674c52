import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { builtImage } from "../../../src/api/build/built-image.ts";
import type { PlatformPlan } from "../../../src/dockerfile/plan/types.ts";
import type { Digest } from "../../../src/oci/digest.ts";
import type { SolvedPlatform } from "../../../src/solver/types.ts";

const d = (c: string) => `sha256:${c.repeat(64)}` as Digest;
const amd64 = { os: "linux", architecture: "amd64" };

/** FROM base (one layer); RUN a; ENV X=1; RUN b — two layer vertices. */
function plan(): PlatformPlan {
  return {
    platform: amd64,
    output: d("2"),
    image: {
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [d("b")] },
      history: [
        { created: "2020-01-01T00:00:00Z", created_by: "base" },
        { created_by: "RUN a # buildkit", comment: "buildkit.dockerfile.v0" },
        { created_by: "ENV X=1", comment: "buildkit.dockerfile.v0", empty_layer: true },
        { created_by: "RUN b # buildkit", comment: "buildkit.dockerfile.v0" },
      ],
    },
    layerVertices: [d("1"), d("2")],
    baseVertex: d("0"),
    baseImage: { ref: "example.com/base:1", digest: d("9") },
    configComplete: true,
    stagesUsed: [0],
    stageBases: {},
    stageOutputs: {},
  };
}

const layer = (c: string) => ({
  descriptor: { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: d(c), size: 1 },
  diffId: d(c),
});

function solved(first: ReturnType<typeof layer> | null): SolvedPlatform {
  return {
    platform: amd64,
    baseLayers: [layer("b")],
    layers: [
      { layer: first, created: "2024-05-01T10:00:00.000Z" },
      { layer: layer("4"), created: "2024-05-01T10:00:05.500Z" },
    ],
  };
}

describe("the image handed to the exporter", () => {
  it("gives new history entries their layers' times, and entries without one the time before them", () => {
    const image = builtImage(plan(), solved(layer("3")), {
      historyLength: 1,
      created: "2020-01-01T00:00:00Z",
    });
    assert.deepEqual(
      image.config.history?.map((h) => h.created),
      ["2020-01-01T00:00:00Z", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", "2024-05-01T10:00:05.5Z"],
    );
    assert.deepEqual(
      image.layers.map((l) => l.diffId),
      [d("3"), d("4")],
    );
    assert.equal(image.baseHistoryLength, 1);
  });

  it("leaves out a layer that is empty and marks its history entry, so both stay consistent", () => {
    const image = builtImage(plan(), solved(null), { historyLength: 1, created: undefined });
    assert.deepEqual(
      image.layers.map((l) => l.diffId),
      [d("4")],
    );
    assert.equal(image.config.history?.[1]?.empty_layer, true);
    assert.equal(image.config.history?.filter((h) => !h.empty_layer).length, 2, "base + RUN b");
  });
});
