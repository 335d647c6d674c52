// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, not templates
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatOutlineText, outlineToJson } from "../../../../src/dockerfile/outline/format.ts";
import { type OutlineOptions, outlineDockerfile } from "../../../../src/dockerfile/outline/outline.ts";
import { parseDockerfile } from "../../../../src/dockerfile/parse/index.ts";
import { isUserError } from "../../../../src/errors/user-error.ts";

const amd64 = { os: "linux", architecture: "amd64" };

function outline(text: string, options: OutlineOptions = {}) {
  return outlineDockerfile(parseDockerfile(text, { file: "Dockerfile" }), {
    platform: amd64,
    buildPlatform: amd64,
    ...options,
  });
}

const args = (text: string, options: OutlineOptions = {}) =>
  outline(text, options).args.map((a) => [a.name, a.value, a.description]);

describe("--call outline: build args", () => {
  test("a global ARG counts when a FROM uses it; its description is the comment `# NAME text` above it", () => {
    const text = [
      "# VERSION the alpine release",
      "ARG VERSION=3.20",
      "# this comment does not start with the name",
      "ARG FLAVOR=minimal",
      "ARG UNUSED=x",
      "FROM alpine:$VERSION",
    ].join("\n");
    assert.deepEqual(args(text), [["VERSION", "3.20", "the alpine release"]]);
  });

  test("every ARG a needed stage declares is listed; automatic platform args only when given a default", () => {
    const text = [
      "FROM busybox",
      "ARG TARGETARCH",
      "ARG BUILDPLATFORM=forced",
      "# MODE how to build",
      "ARG MODE=release",
      "ARG EMPTY",
    ].join("\n");
    assert.deepEqual(args(text), [
      ["BUILDPLATFORM", "forced", ""],
      ["MODE", "release", "how to build"],
      ["EMPTY", "", ""],
    ]);
  });

  test("a stage that re-declares a global ARG without a value shows the global one", () => {
    const text = ["# TAG image tag", "ARG TAG=1.0", "FROM busybox", "ARG TAG", "RUN echo $TAG"].join("\n");
    assert.deepEqual(
      outline(text).args.map((a) => [a.name, a.value, a.description, a.pos.line]),
      [["TAG", "1.0", "image tag", 2]],
    );
  });

  test("--build-arg values replace defaults, and defaults are expanded", () => {
    const text = ["FROM busybox", "ARG A=one", "ARG B=${A}-two", "ARG C=$A"].join("\n");
    assert.deepEqual(args(text, { buildArgs: { A: "uno" } }), [
      ["A", "uno", ""],
      ["B", "uno-two", ""],
      ["C", "uno", ""],
    ]);
  });

  test("using an arg uses the global args its default refers to", () => {
    const text = [
      "ARG REG=docker.io",
      "ARG IMAGE=${REG}/library/alpine",
      "ARG OTHER=o",
      "FROM ${IMAGE}",
    ].join("\n");
    assert.deepEqual(args(text), [
      ["REG", "docker.io", ""],
      ["IMAGE", "docker.io/library/alpine", ""],
    ]);
  });

  test("only the stages the target needs count: its bases and what it copies from", () => {
    const text = [
      "FROM busybox AS base",
      "ARG IN_BASE=1",
      "FROM busybox AS helper",
      "ARG IN_HELPER=2",
      "FROM busybox AS unused",
      "ARG IN_UNUSED=3",
      "FROM base AS final",
      "COPY --from=helper /x /x",
      "ARG IN_FINAL=4",
    ].join("\n");
    assert.deepEqual(
      args(text).map((a) => a[0]),
      ["IN_BASE", "IN_HELPER", "IN_FINAL"],
    );
    assert.deepEqual(
      args(text, { target: "unused" }).map((a) => a[0]),
      ["IN_UNUSED"],
    );
    assert.equal(outline(text).name, "final");
  });

  test("RUN --mount=from= makes a stage needed too, by name or by index", () => {
    const text = [
      "FROM busybox AS tools",
      "ARG TOOLS_VERSION=1",
      "FROM busybox",
      "ARG ZERO=0",
      "FROM busybox",
      "RUN --mount=from=tools,target=/t --mount=type=bind,from=1,target=/z true",
    ].join("\n");
    assert.deepEqual(
      args(text).map((a) => a[0]),
      ["TOOLS_VERSION", "ZERO"],
    );
  });

  test("an unknown --target is a user error that suggests a close name", () => {
    try {
      outline("FROM busybox AS builder\nFROM busybox AS final", { target: "buidler" });
      assert.fail("expected an error");
    } catch (e) {
      assert.ok(isUserError(e));
      assert.match(e.message, /target stage "buidler" could not be found/);
      assert.match(e.hint ?? "", /did you mean builder\?/);
    }
  });
});

describe("--call outline: secrets and ssh", () => {
  const text = [
    "FROM busybox AS fetch",
    "RUN --mount=type=ssh git clone x",
    "RUN --mount=type=ssh,id=deploy,required=true true",
    "FROM busybox",
    "COPY --from=fetch /src /src",
    "RUN --mount=type=secret,id=npmrc,target=/root/.npmrc true",
    "RUN --mount=type=secret,target=/run/secrets/api_key,required true",
    "RUN --mount=type=secret,id=npmrc,required=true --mount=type=secret,id=aws,env=AWS_CONFIG true",
  ].join("\n");

  test("secret ids (defaulting to the target's file name), required when any use requires them", () => {
    assert.deepEqual(
      outline(text).secrets.map((s) => [s.name, s.required]),
      [
        ["npmrc", true],
        ["api_key", true],
        ["aws", false],
      ],
    );
  });

  test("ssh agents of the stages the target needs, `default` when unnamed", () => {
    assert.deepEqual(
      outline(text).ssh.map((s) => [s.name, s.required]),
      [
        ["default", false],
        ["deploy", true],
      ],
    );
  });
});

describe("--call outline output", () => {
  const text = [
    "# alpine base",
    "ARG VERSION=3.20",
    "# app the application image",
    "FROM alpine:$VERSION AS app",
    "# PORT port the server listens on",
    "ARG PORT=8080",
    "RUN --mount=type=secret,id=token,required=true true",
    "RUN --mount=type=ssh true",
  ].join("\n");

  test("text is laid out like buildx: TARGET header, then aligned tables", () => {
    assert.equal(
      formatOutlineText(outline(text)),
      [
        "TARGET:      app",
        "DESCRIPTION: the application image",
        "",
        "BUILD ARG   VALUE   DESCRIPTION",
        "VERSION     3.20",
        "PORT        8080    port the server listens on",
        "",
        "SECRET   REQUIRED",
        "token    true",
        "",
        "SSH       REQUIRED",
        "default",
        "",
        "",
      ].join("\n"),
    );
  });

  test("JSON has BuildKit's field names and leaves out empty ones", () => {
    const json = outlineToJson(outline(text)) as Record<string, unknown>;
    assert.equal(json.name, "app");
    assert.equal(json.description, "the application image");
    assert.deepEqual(json.args, [
      {
        name: "VERSION",
        value: "3.20",
        location: { ranges: [{ start: { line: 2, character: 4 }, end: { line: 2, character: 4 } }] },
      },
      {
        name: "PORT",
        description: "port the server listens on",
        value: "8080",
        location: { ranges: [{ start: { line: 6, character: 4 }, end: { line: 6, character: 4 } }] },
      },
    ]);
    assert.deepEqual(
      (json.secrets as { name: string; required: boolean }[]).map((s) => [s.name, s.required]),
      [["token", true]],
    );
    assert.deepEqual((json.ssh as Record<string, unknown>[])[0]?.required, undefined);
  });
});

describe("--call outline robustness", () => {
  test("a stage the target does not need is not expanded, so its mistakes do not matter", () => {
    const text = ["FROM busybox AS broken", 'ENV X="unterminated', "FROM busybox AS ok", "ARG A=1"].join(
      "\n",
    );
    assert.deepEqual(
      outline(text).args.map((a) => a.name),
      ["A"],
    );
  });
});
