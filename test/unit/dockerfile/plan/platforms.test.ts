import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UserError } from "../../../../src/errors/user-error.ts";
import { countVertices } from "../../../../src/graph/walk.ts";
import { amd64, arm64, armv7, chain, envOf, execs, plan } from "./helpers.ts";

const crossCompile = [
  "FROM --platform=$BUILDPLATFORM golang:1.22 AS build",
  "WORKDIR /src",
  "COPY go.mod ./",
  "RUN --mount=type=cache,target=/root/.cache go mod download",
  "ARG TARGETARCH",
  "RUN GOARCH=$TARGETARCH go build -o /out/app .",
  "",
  "FROM alpine:3.20",
  "COPY --from=build /out/app /app",
];

describe("multi-platform graphs", () => {
  it("share the BUILDPLATFORM steps before ARG TARGETARCH and split after it", async () => {
    const p = await plan(crossCompile, { platforms: [amd64, arm64, armv7] });
    const sets = p.platforms.map((_, i) => new Set(chain(p, i).map((c) => c.digest)));
    const runs = p.platforms.map((_, i) => execs(p, i));
    // go mod download: one vertex for all three platforms.
    assert.equal(new Set(runs.map((r) => chain(p).find((c) => c.vertex.op === r[0])?.digest)).size, 1);
    const download = runs.map((r) => r[0]!);
    assert.deepEqual(download[0], download[1]);
    // go build: one per platform, each run on the build platform with its own TARGETARCH.
    const builds = runs.map((r) => r[1]!);
    assert.deepEqual(
      builds.map((b) => envOf(b, "TARGETARCH")),
      ["amd64", "arm64", "arm"],
    );
    for (const b of builds) assert.deepEqual(b.platform, amd64);
    const shared = [...sets[0]!].filter((d) => sets[1]!.has(d) && sets[2]!.has(d));
    // golang image, WORKDIR, context, COPY, go mod download.
    assert.equal(shared.length, 5);
    // 5 shared + per platform: build, alpine, final copy.
    assert.equal(countVertices(p.graph), 5 + 3 * 3);
  });

  it("gives per-platform images with the right platform fields", async () => {
    const p = await plan(crossCompile, { platforms: [amd64, armv7] });
    assert.deepEqual(
      p.platforms.map((x) => [x.image.os, x.image.architecture, x.image.variant]),
      [
        ["linux", "amd64", undefined],
        ["linux", "arm", "v7"],
      ],
    );
    const bases = p.platforms.map((x) => chain(p, p.platforms.indexOf(x))[0]!.vertex.op);
    assert.ok(bases.every((b) => b.kind === "source"));
  });

  it("a stage that declares no target arg is built once for all platforms", async () => {
    const p = await plan(
      [
        "FROM --platform=$BUILDPLATFORM alpine AS tools",
        "RUN make tools",
        "FROM alpine",
        "COPY --from=tools /tools /tools",
      ],
      { platforms: [amd64, arm64] },
    );
    const tool0 = execs(p, 0)[0]!;
    const tool1 = execs(p, 1)[0]!;
    assert.deepEqual(tool0, tool1);
    assert.notEqual(p.platforms[0]!.output, p.platforms[1]!.output);
  });

  it("steps of a target-platform stage run on the target platform", async () => {
    const p = await plan(["FROM alpine", "RUN uname -m"], { platforms: [arm64, armv7] });
    assert.deepEqual(execs(p, 0)[0]!.platform, arm64);
    assert.deepEqual(execs(p, 1)[0]!.platform, armv7);
  });

  it("a context copy into scratch is shared across platforms", async () => {
    const p = await plan(["FROM scratch", "COPY . /"], { platforms: [amd64, arm64] });
    assert.equal(p.platforms[0]!.output, p.platforms[1]!.output);
  });

  it("names steps like BuildKit, with the cross-compile arrow once a TARGET arg is declared", async () => {
    const p = await plan(crossCompile, { platforms: [amd64, arm64] });
    const names = chain(p, 1).map((c) => c.vertex.meta?.name ?? "");
    assert.ok(names.includes("[linux/amd64 build 1/5] FROM docker.io/library/golang:1.22"), names.join("\n"));
    assert.ok(names.includes("[linux/amd64 build 2/5] WORKDIR /src"));
    assert.ok(names.includes("[linux/amd64->arm64 build 5/5] RUN GOARCH=arm64 go build -o /out/app ."));
    assert.ok(names.includes("[linux/arm64 stage-1 2/2] COPY --from=build /out/app /app"));
  });

  it("FROM --platform must be a valid platform, with a positioned error", async () => {
    await assert.rejects(
      plan(["FROM --platform=linux/amd64/v2/x alpine"]),
      (e) => e instanceof UserError && e.location?.line === 1 && /failed to parse platform/.test(e.message),
    );
    await assert.rejects(
      plan(["FROM --platform=$NOPE alpine"]),
      (e) => e instanceof UserError && /empty platform value/.test(e.message),
    );
  });

  it("platform spellings are normalised and duplicates dropped", async () => {
    const p = await plan(["FROM alpine"], {
      platforms: [
        { os: "linux", architecture: "aarch64" },
        { os: "linux", architecture: "arm64", variant: "v8" },
      ],
    });
    assert.equal(p.platforms.length, 1);
    assert.deepEqual(p.platforms[0]!.platform, arm64);
  });
});
