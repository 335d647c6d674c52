// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, not templates
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { amd64, arm64, envOf, execs, history, plan } from "./helpers.ts";

describe("ARG and ENV scoping", () => {
  it("global ARGs are usable in FROM but not inside a stage until re-declared", async () => {
    const p = await plan([
      "ARG TAG=3.20",
      "ARG NAME=alpine",
      "FROM ${NAME}:${TAG}",
      "RUN echo $TAG",
      "ARG TAG",
      "RUN echo $TAG",
    ]);
    const [first, second] = execs(p);
    assert.equal(envOf(first!, "TAG"), undefined);
    assert.equal(envOf(second!, "TAG"), "3.20");
    assert.equal(p.platforms[0]!.baseImage?.ref, "docker.io/library/alpine:3.20");
  });

  it("a re-declaration with a value overrides the global default; --build-arg overrides both", async () => {
    const text = ["ARG V=global", "FROM scratch", "ARG V=local", "RUN x"];
    assert.equal(envOf(execs(await plan(text))[0]!, "V"), "local");
    assert.equal(envOf(execs(await plan(text, { buildArgs: { V: "cli" } }))[0]!, "V"), "cli");
    const globalOnly = ["ARG V=global", "FROM scratch", "ARG V", "RUN x"];
    assert.equal(envOf(execs(await plan(globalOnly, { buildArgs: { V: "cli" } }))[0]!, "V"), "cli");
  });

  it("--build-arg only applies to declared ARGs", async () => {
    const p = await plan(["FROM scratch", "RUN echo $UNDECLARED"], { buildArgs: { UNDECLARED: "x" } });
    assert.equal(envOf(execs(p)[0]!, "UNDECLARED"), undefined);
  });

  it("an ARG without value, default or build-arg is declared but unset", async () => {
    const p = await plan(["FROM scratch", "ARG EMPTY", "RUN echo $EMPTY"]);
    assert.equal(envOf(execs(p)[0]!, "EMPTY"), undefined);
    assert.deepEqual(history(p), ["ARG EMPTY", "RUN |1 EMPTY= /bin/sh -c echo $EMPTY # buildkit"]);
  });

  it("ENV after an ARG of the same name wins, in the RUN env and in the image", async () => {
    const p = await plan(["FROM scratch", "ARG V=arg", "ENV V=env", "RUN x"]);
    assert.equal(envOf(execs(p)[0]!, "V"), "env");
    assert.ok(p.platforms[0]!.image.config?.Env?.includes("V=env"));
  });

  it("an ARG declared after an ENV takes over for later steps (BuildKit's order) but not in the image", async () => {
    const p = await plan(["FROM scratch", "ENV V=env", "ARG V=arg", "RUN x"], { buildArgs: {} });
    assert.equal(envOf(execs(p)[0]!, "V"), "arg");
    assert.ok(p.platforms[0]!.image.config?.Env?.includes("V=env"));
  });

  it("ARG values are expanded with what is visible at that point", async () => {
    const p = await plan(["FROM scratch", "ENV A=one", "ARG B=${A}-two", "RUN x"]);
    assert.equal(envOf(execs(p)[0]!, "B"), "one-two");
  });

  it("ENV pairs see the values from before the instruction", async () => {
    const p = await plan(["FROM scratch", "ENV abc=hello", "ENV abc=bye def=$abc", "ENV ghi=$abc", "RUN x"]);
    const env = execs(p)[0]!;
    assert.equal(envOf(env, "def"), "hello");
    assert.equal(envOf(env, "ghi"), "bye");
  });

  it("ARGs are not persisted in the image config", async () => {
    const p = await plan(["FROM scratch", "ARG SECRETISH=1", "RUN x"]);
    assert.ok(!p.platforms[0]!.image.config?.Env?.some((e) => e.startsWith("SECRETISH=")));
  });

  it("a stage built FROM another inherits its ARGs and ENV", async () => {
    const p = await plan(["FROM scratch AS base", "ARG LOCAL=a", "ENV E=b", "FROM base", "RUN x"]);
    const run = execs(p)[0]!;
    assert.equal(envOf(run, "LOCAL"), "a");
    assert.equal(envOf(run, "E"), "b");
    assert.match(history(p).at(-1)!, /^RUN \|1 LOCAL=a \/bin\/sh -c x # buildkit$/);
  });

  it("global ARG defaults may use earlier global ARGs and the automatic platform args", async () => {
    const p = await plan(["ARG A=x", "ARG B=${A}-${TARGETARCH}", "FROM scratch", "ARG B", "RUN y"], {
      platforms: [arm64],
    });
    assert.equal(envOf(execs(p)[0]!, "B"), "x-arm64");
  });
});

describe("automatic platform args", () => {
  it("are visible in a stage only when declared without a value", async () => {
    const p = await plan(
      [
        "FROM scratch",
        "RUN echo $TARGETARCH",
        "ARG TARGETARCH",
        "ARG BUILDPLATFORM",
        "ARG TARGETVARIANT",
        "RUN echo $TARGETARCH",
      ],
      { platforms: [arm64] },
    );
    const [before, after] = execs(p);
    assert.equal(envOf(before!, "TARGETARCH"), undefined);
    assert.equal(envOf(after!, "TARGETARCH"), "arm64");
    assert.equal(envOf(after!, "BUILDPLATFORM"), "linux/amd64");
    assert.equal(envOf(after!, "TARGETVARIANT"), "");
  });

  it("a default value replaces the automatic value", async () => {
    const p = await plan(["FROM scratch", "ARG TARGETPLATFORM=linux/s390x", "RUN x"], { platforms: [arm64] });
    assert.equal(envOf(execs(p)[0]!, "TARGETPLATFORM"), "linux/s390x");
  });

  it("are available in FROM without declaration", async () => {
    const p = await plan(["FROM --platform=$BUILDPLATFORM alpine:$TARGETARCH", "RUN x"], {
      platforms: [arm64],
    });
    assert.equal(p.platforms[0]!.baseImage?.ref, "docker.io/library/alpine:arm64");
    assert.deepEqual(execs(p)[0]!.platform, amd64);
  });

  it("TARGET* describe the platform being built even in a BUILDPLATFORM stage", async () => {
    const p = await plan(
      [
        "FROM --platform=$BUILDPLATFORM scratch",
        "ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT",
        "RUN x",
      ],
      { platforms: [{ os: "linux", architecture: "arm", variant: "v7" }] },
    );
    const run = execs(p)[0]!;
    assert.deepEqual(run.platform, amd64);
    assert.equal(envOf(run, "TARGETPLATFORM"), "linux/arm/v7");
    assert.equal(envOf(run, "TARGETOS"), "linux");
    assert.equal(envOf(run, "TARGETARCH"), "arm");
    assert.equal(envOf(run, "TARGETVARIANT"), "v7");
  });

  it("ARG history shows the value the stage got", async () => {
    const p = await plan(["FROM scratch", "ARG TARGETARCH", "ARG X=1 Y"], { platforms: [arm64] });
    assert.deepEqual(history(p), ["ARG TARGETARCH=arm64", "ARG X=1 Y"]);
  });
});
