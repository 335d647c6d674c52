import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  addVertex,
  type BuildGraph,
  type ExecOp,
  emptyGraph,
  topologicalOrder,
} from "../../../src/graph/index.ts";
import type { Digest } from "../../../src/oci/digest.ts";
import { type CacheKey, computeCacheKeys } from "../../../src/solver/cache-key.ts";

const amd64 = { os: "linux", architecture: "amd64" };
const imageDigest = `sha256:${"a".repeat(64)}` as Digest;

function run(args: string[]): ExecOp {
  return {
    kind: "exec",
    args,
    env: [],
    cwd: "/",
    user: "",
    mounts: [],
    network: "default",
    security: "sandbox",
    platform: amd64,
  };
}

/** FROM image; COPY <local source> /; RUN make — with the local source as given. */
function build(local: { name: string; followPaths?: string[] }, ref = "example.com/base:1") {
  const g: BuildGraph = emptyGraph();
  const base = addVertex(g, {
    kind: "source",
    source: { type: "image", ref, digest: imageDigest, platform: amd64 },
  });
  const ctx = addVertex(g, { kind: "source", source: { type: "local", ...local } });
  const copy = addVertex(
    g,
    {
      kind: "file",
      actions: [
        {
          action: "copy",
          input: 1,
          src: "/",
          dest: "/src/",
          followSymlinks: true,
          copyDirContents: true,
          createDestPath: true,
          allowWildcard: true,
          allowEmptyWildcard: true,
          attemptUnpack: false,
        },
      ],
    },
    [base, ctx],
    { name: "COPY . /src/" },
  );
  const make = addVertex(g, run(["make"]), [copy], { name: "RUN make" });
  return { g, base, ctx, copy, make };
}

function keysOf(b: ReturnType<typeof build>, content: string): Map<Digest, CacheKey> {
  return computeCacheKeys(b.g, topologicalOrder(b.g, [b.make]), new Map([[b.ctx, content]]));
}

describe("cache keys", () => {
  it("follow the content of a local source, not how the source was named or narrowed", () => {
    const a = build({ name: "context" });
    const b = build({ name: "src", followPaths: ["app"] });
    assert.notEqual(a.ctx, b.ctx, "different vertices");
    const ka = keysOf(a, "sha256:content-1");
    const kb = keysOf(b, "sha256:content-1");
    assert.equal(ka.get(a.make), kb.get(b.make), "same files, same downstream key");
    assert.notEqual(keysOf(a, "sha256:content-2").get(a.make), ka.get(a.make), "other files, other key");
  });

  it("pin an image by its digest and platform, not by how its reference is spelled", () => {
    const a = build({ name: "context" }, "example.com/base:1");
    const b = build({ name: "context" }, "example.com/base:latest");
    assert.equal(keysOf(a, "c").get(a.make), keysOf(b, "c").get(b.make));
  });

  it("change when a step's own definition changes, and for every step after it", () => {
    const a = build({ name: "context" });
    const b = build({ name: "context" });
    const other = addVertex(b.g, run(["make", "all"]), [b.copy]);
    const last = addVertex(b.g, run(["true"]), [other]);
    const onA = addVertex(a.g, run(["true"]), [a.make]);
    const ka = computeCacheKeys(a.g, topologicalOrder(a.g, [onA]), new Map([[a.ctx, "c"]]));
    const kb = computeCacheKeys(b.g, topologicalOrder(b.g, [last]), new Map([[b.ctx, "c"]]));
    assert.equal(ka.get(a.copy), kb.get(b.copy));
    assert.notEqual(ka.get(onA), kb.get(last));
  });

  it("need the content of every local source", () => {
    const a = build({ name: "context" });
    assert.throws(
      () => computeCacheKeys(a.g, topologicalOrder(a.g, [a.make]), new Map()),
      /no content digest/,
    );
  });
});
