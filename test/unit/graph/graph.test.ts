import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { UserError } from "../../../src/errors/user-error.ts";
import {
  addVertex,
  type BuildGraph,
  countVertices,
  type ExecOp,
  emptyGraph,
  formatGraph,
  graphFromJson,
  graphLeaves,
  graphToJson,
  pruneGraph,
  reachableVertices,
  topologicalOrder,
  vertexDigest,
} from "../../../src/graph/index.ts";
import { canonicalJson } from "../../../src/oci/canonical-json.ts";
import type { Digest } from "../../../src/oci/digest.ts";

const amd64 = { os: "linux", architecture: "amd64" };

function exec(args: string[], extra: Partial<ExecOp> = {}): ExecOp {
  return {
    kind: "exec",
    args,
    env: ["PATH=/usr/bin:/bin"],
    cwd: "/",
    user: "",
    mounts: [],
    network: "default",
    security: "sandbox",
    platform: amd64,
    ...extra,
  };
}

/** image -> mkdir -> run, plus a context copy into the run's result. */
function sampleGraph(): { graph: BuildGraph; image: Digest; run: Digest; copy: Digest; context: Digest } {
  const graph = emptyGraph();
  const image = addVertex(graph, {
    kind: "source",
    source: { type: "image", ref: "docker.io/library/alpine:3.20", platform: amd64 },
  });
  const dir = addVertex(
    graph,
    { kind: "file", actions: [{ action: "mkdir", path: "/app", mode: 0o755, makeParents: true }] },
    [image],
  );
  const run = addVertex(graph, exec(["/bin/sh", "-c", "make"], { cwd: "/app" }), [dir], { name: "RUN make" });
  const context = addVertex(graph, {
    kind: "source",
    source: { type: "local", name: "context", followPaths: ["src"], excludePatterns: ["*.log"] },
  });
  const copy = addVertex(
    graph,
    {
      kind: "file",
      actions: [
        {
          action: "copy",
          input: 1,
          src: "/src",
          dest: "/app/src/",
          owner: { user: "app", group: "app" },
          mode: 0o644,
          followSymlinks: true,
          copyDirContents: true,
          createDestPath: true,
          allowWildcard: true,
          allowEmptyWildcard: true,
          attemptUnpack: false,
          excludePatterns: ["**/*.tmp"],
        },
      ],
    },
    [run, context],
  );
  return { graph, image, run, copy, context };
}

describe("vertex digests", () => {
  it("are a fixed function of the definition and inputs (stable across versions)", () => {
    const d = vertexDigest({ kind: "source", source: { type: "scratch" } }, []);
    // Pinned: changing the canonical form silently would invalidate every persisted cache key.
    assert.equal(d, "sha256:1e48e92fc4e0553f1a03b3a5aae016baea3d78d59b95f26bca9c1d2132a09d98");
  });

  it("do not depend on key order or on metadata", () => {
    const a = emptyGraph();
    const b = emptyGraph();
    const base1 = addVertex(a, { kind: "source", source: { type: "scratch" } }, [], { name: "one" });
    const base2 = addVertex(b, { kind: "source", source: { type: "scratch" } }, [], { name: "two" });
    assert.equal(base1, base2);
    const reordered = {
      security: "sandbox",
      platform: { architecture: "amd64", os: "linux" },
      network: "default",
      mounts: [],
      user: "",
      cwd: "/",
      env: ["PATH=/usr/bin:/bin"],
      args: ["true"],
      kind: "exec",
    } as ExecOp;
    assert.equal(addVertex(a, exec(["true"]), [base1]), addVertex(b, reordered, [base2], { name: "x" }));
  });

  it("change with any field of the op and with the inputs", () => {
    const g = emptyGraph();
    const s = addVertex(g, { kind: "source", source: { type: "scratch" } });
    const img = addVertex(g, {
      kind: "source",
      source: { type: "image", ref: "docker.io/library/a:1", platform: amd64 },
    });
    const base = addVertex(g, exec(["true"]), [s]);
    assert.notEqual(base, addVertex(g, exec(["true"], { env: ["A=1"] }), [s]));
    assert.notEqual(base, addVertex(g, exec(["true"], { cwd: "/x" }), [s]));
    assert.notEqual(base, addVertex(g, exec(["true"], { network: "none" }), [s]));
    assert.notEqual(
      base,
      addVertex(g, exec(["true"], { platform: { os: "linux", architecture: "arm64" } }), [s]),
    );
    assert.notEqual(base, addVertex(g, exec(["true"]), [img]));
  });

  it("treat equivalent platform spellings as one vertex", () => {
    const g = emptyGraph();
    const s = addVertex(g, { kind: "source", source: { type: "scratch" } });
    const a = addVertex(
      g,
      exec(["true"], { platform: { os: "linux", architecture: "arm64", variant: "v8" } }),
      [s],
    );
    const b = addVertex(g, exec(["true"], { platform: { os: "linux", architecture: "aarch64" } }), [s]);
    assert.equal(a, b);
  });

  it("dedupe identical vertices and keep the first metadata", () => {
    const g = emptyGraph();
    const s = addVertex(g, { kind: "source", source: { type: "scratch" } });
    const a = addVertex(g, exec(["true"]), [s], { name: "first" });
    const b = addVertex(g, exec(["true"]), [s], { name: "second" });
    assert.equal(a, b);
    assert.equal(g.vertices[a]?.meta?.name, "first");
    assert.equal(countVertices(g), 2);
  });

  it("refuse an input that is not in the graph", () => {
    const g = emptyGraph();
    const missing = vertexDigest({ kind: "source", source: { type: "scratch" } }, []);
    assert.throws(() => addVertex(g, exec(["true"]), [missing]), /not in the graph/);
  });
});

describe("walking the graph", () => {
  it("orders inputs before the vertices that use them", () => {
    const { graph, copy } = sampleGraph();
    const order = topologicalOrder(graph, [copy]);
    for (const d of order) {
      for (const input of graph.vertices[d]!.inputs) assert.ok(order.indexOf(input) < order.indexOf(d));
    }
    assert.equal(order[order.length - 1], copy);
  });

  it("counts, prunes and finds leaves", () => {
    const { graph, run, copy, context } = sampleGraph();
    assert.equal(countVertices(graph), 5);
    assert.equal(countVertices(graph, [run]), 3);
    assert.deepEqual([...reachableVertices(graph, [run])].sort(), topologicalOrder(graph, [run]).sort());
    const pruned = pruneGraph(graph, [run]);
    assert.equal(Object.keys(pruned.vertices).length, 3);
    assert.ok(!(context in pruned.vertices));
    assert.deepEqual(graphLeaves(graph), [copy]);
  });

  it("reports a dangling input as a user error", () => {
    const { graph, run } = sampleGraph();
    const broken: BuildGraph = structuredClone(graph);
    broken.vertices[run]!.inputs = [
      "sha256:0000000000000000000000000000000000000000000000000000000000000000" as Digest,
    ];
    assert.throws(
      () => topologicalOrder(broken),
      (e) => e instanceof UserError && /not defined/.test(e.message),
    );
  });
});

describe("JSON round-trip", () => {
  it("is lossless and verifies digests", () => {
    const { graph, copy } = sampleGraph();
    const text = graphToJson(graph);
    const back = graphFromJson(text);
    assert.deepEqual(back, graph);
    assert.equal(graphToJson(back), text);
    // Inputs come first in the text, so a streaming reader could verify as it goes.
    const keys = Object.keys(JSON.parse(text).vertices);
    assert.equal(keys[keys.length - 1], copy);
  });

  it("writes only what the roots need when asked", () => {
    const { graph, run } = sampleGraph();
    const back = graphFromJson(graphToJson(graph, [run]));
    assert.equal(Object.keys(back.vertices).length, 3);
  });

  it("rejects a vertex whose definition was changed", () => {
    const { graph, run } = sampleGraph();
    const doc = JSON.parse(graphToJson(graph));
    doc.vertices[run].op.args = ["/bin/sh", "-c", "rm -rf /"];
    assert.throws(
      () => graphFromJson(JSON.stringify(doc)),
      (e) => e instanceof UserError && /does not match its definition/.test(e.message),
    );
  });

  it("rejects a missing input, a bad shape, a bad version and bad JSON", () => {
    const { graph, image } = sampleGraph();
    const doc = JSON.parse(graphToJson(graph));
    delete doc.vertices[image];
    assert.throws(() => graphFromJson(JSON.stringify(doc)), UserError);

    const bad = JSON.parse(graphToJson(graph));
    const [key] = Object.keys(bad.vertices);
    bad.vertices[key!].op = { kind: "exec", args: "make" };
    assert.throws(() => graphFromJson(JSON.stringify(bad)), /args is not an array/);

    const badIndex = emptyGraph();
    const s = addVertex(badIndex, { kind: "source", source: { type: "scratch" } });
    const v = addVertex(
      badIndex,
      { kind: "file", actions: [{ action: "rm", path: "/x", allowNotFound: true, allowWildcard: false }] },
      [s],
    );
    const text = graphToJson(badIndex).replace('"action":"rm"', '"action":"chmod"');
    assert.throws(() => graphFromJson(text), /not a known file action/);
    assert.ok(v);

    assert.throws(() => graphFromJson('{"version":2,"vertices":{}}'), /unsupported version/);
    assert.throws(() => graphFromJson("{"), /build graph: invalid JSON/);
  });

  it("rejects an input index that points outside the inputs", () => {
    const g = emptyGraph();
    const s = addVertex(g, { kind: "source", source: { type: "scratch" } });
    addVertex(
      g,
      exec(["true"], { mounts: [{ type: "bind", target: "/m", input: 3, source: "/", readonly: true }] }),
      [s],
    );
    assert.throws(() => graphFromJson(graphToJson(g)), /not a valid input index/);
  });

  it("keeps a cache mount shared across platforms, and rejects a bad flag or a NUL in its id", () => {
    const cache = (extra: Record<string, unknown>) => {
      const g = emptyGraph();
      const s = addVertex(g, { kind: "source", source: { type: "scratch" } });
      const mount = {
        type: "cache",
        target: "/c",
        id: "go",
        sharing: "shared",
        readonly: false,
        source: "/",
      };
      const m = { ...mount, mode: 0o755, uid: 0, gid: 0, ...extra } as unknown as ExecOp["mounts"][number];
      addVertex(g, exec(["true"], { mounts: [m] }), [s]);
      return graphToJson(g);
    };
    const back = graphFromJson(cache({ acrossPlatforms: true }));
    const op = Object.values(back.vertices).find((v) => v.op.kind === "exec")!.op as ExecOp;
    assert.equal(op.mounts[0]?.type === "cache" && op.mounts[0].acrossPlatforms, true);
    assert.throws(() => graphFromJson(cache({ acrossPlatforms: "yes" })), /acrossPlatforms must be true/);
    assert.throws(() => graphFromJson(cache({ id: "go\u0000linux/amd64" })), /may not contain NUL/);
  });
});

describe("formatGraph", () => {
  it("lists each vertex with its op, inputs and details, and the outputs", () => {
    const { graph, copy } = sampleGraph();
    const text = formatGraph(graph, [{ label: "linux/amd64", digest: copy }]);
    assert.match(text, /source image docker\.io\/library\/alpine:3\.20 \(linux\/amd64\)/);
    assert.match(text, /exec \["\/bin\/sh","-c","make"\] \(linux\/amd64\)/);
    assert.match(text, /name: RUN make/);
    assert.match(text, /copy input=1 \/src -> \/app\/src\/ owner=app:app mode=644/);
    assert.match(text, /output linux\/amd64: [0-9a-f]{12}/);
    assert.match(text, /5 vertices\n$/);
  });
});

/** An independent canonical JSON: sorted copies, then JSON.stringify (for keys that are not integer-like). */
function reference(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sort(value));
}

describe("canonical text", () => {
  it("is byte-identical to a sort-then-stringify canonical JSON for any JSON value", () => {
    const writeCanonical = canonicalJson;
    // Integer-like keys are left out: canonicalJson rebuilds objects, and JavaScript orders such keys first.
    const key = fc.string().filter((k) => !/^(0|[1-9]\d*)$/.test(k));
    const value = fc.anything({
      key,
      values: [
        fc.boolean(),
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.string(),
        fc.constant(null),
      ],
      maxDepth: 3,
    });
    fc.assert(
      fc.property(value, (value) => {
        assert.equal(writeCanonical(value), reference(value));
      }),
      { numRuns: 500 },
    );
    const frozen = Object.freeze({ b: 1, a: Object.freeze(["x", { d: undefined, c: 2 }]) });
    assert.equal(writeCanonical(frozen), reference(frozen));
    assert.equal(writeCanonical(frozen), '{"a":["x",{"c":2}],"b":1}');
  });
});
