import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { parsePlatform } from "../../../src/oci/platform.ts";
import { cacheMountDirName, cacheMountKey, cacheMountsOf } from "../../../src/solver/cache-mount-key.ts";
import { amd64, arm64, plan } from "../dockerfile/plan/helpers.ts";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

describe("cache mount keys", () => {
  it("give each execution platform its own directory, unless the mount is shared across platforms", () => {
    const amd = cacheMountDirName(cacheMountKey({ id: "go" }, amd64));
    const arm = cacheMountDirName(cacheMountKey({ id: "go" }, arm64));
    assert.notEqual(amd, arm);
    assert.equal(arm, cacheMountDirName(cacheMountKey({ id: "go" }, parsePlatform("linux/arm64/v8"))));
    const shared = (p: typeof amd64) =>
      cacheMountDirName(cacheMountKey({ id: "go", acrossPlatforms: true }, p));
    assert.equal(shared(amd64), shared(arm64));
    // The name cache directories had before the split: such caches on an old state dir keep their files.
    assert.equal(shared(amd64), sha("go"));
    assert.notEqual(amd, sha("go"));
  });

  it("refuse a cache id with NUL, the separator of id and platform in a directory's name", async () => {
    await assert.rejects(
      plan(["FROM busybox", "RUN --mount=type=cache,target=/c,id=x\u0000linux/amd64,sharing=shared true"]),
      /a cache id may not contain a NUL character/,
    );
  });
});

describe("the cache mounts of a planned build", () => {
  const steps = [
    "FROM --platform=$BUILDPLATFORM busybox AS tool",
    "ARG TARGETARCH",
    "RUN --mount=type=cache,target=/tool echo $TARGETARCH",
    "FROM busybox",
    "RUN --mount=type=cache,target=/default true",
    "RUN --mount=type=cache,target=/named,id=named true",
    "RUN --mount=type=cache,target=/locked,id=locked,sharing=locked true",
    "RUN --mount=type=cache,target=/shared,id=both,sharing=shared true",
    "COPY --from=tool / /t",
  ];

  it("are per target platform, except id+sharing=shared and a $BUILDPLATFORM stage's", async () => {
    const p = await plan(steps, { platforms: [amd64, arm64] });
    assert.deepEqual(cacheMountsOf(p.graph), [
      { id: "/default", platform: "linux/amd64" },
      { id: "/default", platform: "linux/arm64" },
      // Both TARGETARCH steps run on the build platform: one directory.
      { id: "/tool", platform: "linux/amd64" },
      { id: "both", platform: undefined },
      { id: "locked", platform: "linux/amd64" },
      { id: "locked", platform: "linux/arm64" },
      { id: "named", platform: "linux/amd64" },
      { id: "named", platform: "linux/arm64" },
    ]);
  });

  it("mark only a mount with an explicit id and an explicit sharing=shared as shared across platforms", async () => {
    const p = await plan(steps, { platforms: [amd64] });
    const mounts = Object.values(p.graph.vertices).flatMap((v) =>
      v.op.kind === "exec" ? v.op.mounts.filter((m) => m.type === "cache") : [],
    );
    const across = mounts.filter((m) => m.type === "cache" && m.acrossPlatforms).map((m) => m.target);
    assert.deepEqual(across, ["/shared"]);
  });
});
