// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, not templates
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkDockerfile } from "../../../../src/dockerfile/lint/check.ts";
import { formatLintText, lintToJson } from "../../../../src/dockerfile/lint/format.ts";
import { type LintOptions, lintDockerfile } from "../../../../src/dockerfile/lint/lint.ts";
import { parseDockerfile } from "../../../../src/dockerfile/parse/index.ts";
import { isUserError } from "../../../../src/errors/user-error.ts";

const amd64 = { os: "linux", architecture: "amd64" };

function lint(lines: string[], options: LintOptions = {}) {
  return lintDockerfile(parseDockerfile(lines.join("\n"), { file: "Dockerfile" }), {
    platform: amd64,
    buildPlatform: amd64,
    ...options,
  });
}

/** `Rule@line: detail` for each finding. */
const found = (lines: string[], options: LintOptions = {}) =>
  lint(lines, options).findings.map((f) => `${f.rule}@${f.range.start.line}: ${f.detail}`);

describe("build checks", () => {
  test("StageNameCasing and FromAsCasing", () => {
    assert.deepEqual(found(["FROM busybox AS Build", "FROM busybox as runtime", "FROM busybox AS ok"]), [
      "StageNameCasing@1: Stage name 'Build' should be lowercase",
      "FromAsCasing@2: 'as' and 'FROM' keywords' casing do not match",
    ]);
    assert.deepEqual(found(["from busybox as build", "run true"]), []);
  });

  test("ConsistentInstructionCasing follows the majority", () => {
    assert.deepEqual(found(["FROM busybox", "RUN true", "run true", "Copy a /b"]), [
      "ConsistentInstructionCasing@3: Command 'run' should match the case of the command majority (uppercase)",
      "ConsistentInstructionCasing@4: Command 'Copy' should match the case of the command majority (uppercase)",
    ]);
  });

  test("DuplicateStageName and ReservedStageName", () => {
    assert.deepEqual(found(["FROM busybox AS a", "FROM busybox AS a", "FROM busybox AS scratch"]), [
      'DuplicateStageName@2: Duplicate stage name "a", stage names should be unique',
      'ReservedStageName@3: Stage name should not use the same name as reserved stage "scratch"',
    ]);
  });

  test("JSONArgsRecommended for shell-form CMD and ENTRYPOINT, unless a SHELL was set", () => {
    assert.deepEqual(found(["FROM busybox", "CMD echo hi", 'ENTRYPOINT ["sh"]']), [
      "JSONArgsRecommended@2: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
    ]);
    assert.deepEqual(
      found(["FROM busybox AS base", 'SHELL ["/bin/ash", "-c"]', "FROM base", "CMD echo hi"]),
      [],
    );
  });

  test("MultipleInstructionsDisallowed points at the instruction that gets overridden", () => {
    assert.deepEqual(found(["FROM busybox", 'CMD ["a"]', 'CMD ["b"]', "FROM busybox", 'CMD ["c"]']), [
      "MultipleInstructionsDisallowed@2: Multiple CMD instructions should not be used in the same stage because only the last one will be used",
    ]);
  });

  test("MaintainerDeprecated and LegacyKeyValueFormat", () => {
    assert.deepEqual(
      found(["FROM busybox", "MAINTAINER me", "ENV A b", "LABEL k v", "ENV C=d", "LABEL e=f"]),
      [
        "MaintainerDeprecated@2: Maintainer instruction is deprecated in favor of using label",
        'LegacyKeyValueFormat@3: "ENV key=value" should be used instead of legacy "ENV key value" format',
        'LegacyKeyValueFormat@4: "LABEL key=value" should be used instead of legacy "LABEL key value" format',
      ],
    );
  });

  test("UndefinedArgInFrom suggests a declared name; automatic platform args count as declared", () => {
    assert.deepEqual(
      found(["ARG VERSION=1", "FROM --platform=$BUILDPLATFORM busybox:$VERSON", "FROM busybox:$VERSION"]),
      [
        "UndefinedArgInFrom@2: FROM argument 'VERSON' is not declared (did you mean VERSION?)",
        "InvalidDefaultArgInFrom@2: Default value for ARG busybox:$VERSON results in empty or invalid base image name",
      ],
    );
  });

  test("UndefinedVar in expanding instructions (never in RUN), with a suggestion", () => {
    assert.deepEqual(
      found([
        "FROM scratch",
        "ARG DIR=/app",
        "ARG DECLARED",
        "COPY a $DIRR/",
        "WORKDIR $DIR",
        "COPY b $DECLARED/",
        "RUN echo $NOPE",
      ]),
      ["UndefinedVar@4: Usage of undefined variable '$DIRR' (did you mean $DIR?)"],
    );
  });

  test("UndefinedVar on a registry base image only reports likely typos (its ENV is unknown)", () => {
    assert.deepEqual(
      found(["FROM golang", "ENV GOFLAGS=-mod=vendor", "WORKDIR $GOPATH/src", "COPY . $GOFLGAS"]),
      ["UndefinedVar@4: Usage of undefined variable '$GOFLGAS' (did you mean $GOFLAGS?)"],
    );
  });

  test("WorkdirRelativePath only for the first WORKDIR of a stage chain", () => {
    assert.deepEqual(found(["FROM busybox AS a", "WORKDIR app", "WORKDIR more", "FROM a", "WORKDIR rel"]), [
      'WorkdirRelativePath@2: Relative workdir "app" can have unexpected results if the base image changes',
    ]);
    assert.deepEqual(found(["FROM busybox", "WORKDIR /srv", "WORKDIR app"]), []);
  });

  test("SecretsUsedInArgOrEnv by word, with PUBLIC allowed", () => {
    assert.deepEqual(
      found(["FROM busybox", "ARG GITHUB_TOKEN", "ARG PUBLIC_KEY", "ARG MONKEY", "ENV DB_PASSWORD=x AUTH=y"]),
      [
        'SecretsUsedInArgOrEnv@2: Do not use ARG or ENV instructions for sensitive data (ARG "GITHUB_TOKEN")',
        'SecretsUsedInArgOrEnv@5: Do not use ARG or ENV instructions for sensitive data (ENV "DB_PASSWORD")',
        'SecretsUsedInArgOrEnv@5: Do not use ARG or ENV instructions for sensitive data (ENV "AUTH")',
      ],
    );
  });

  test("RedundantTargetPlatform and FromPlatformFlagConstDisallowed", () => {
    assert.deepEqual(
      found([
        "FROM --platform=$TARGETPLATFORM busybox AS a",
        "FROM --platform=${BUILDPLATFORM} busybox AS b",
        "FROM --platform=linux/arm64 busybox AS c",
        "FROM --platform=linux/arm64 busybox AS arm64-tools",
      ]),
      [
        "RedundantTargetPlatform@1: Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior",
        'FromPlatformFlagConstDisallowed@3: FROM --platform flag should not use constant value "linux/arm64"',
      ],
    );
  });

  test("NoEmptyContinuation", () => {
    assert.deepEqual(found(["FROM busybox", "RUN echo a \\", "", "  b"]), [
      "NoEmptyContinuation@3: Empty continuation line",
    ]);
  });

  test("with a target, instruction checks cover only the stages it needs", () => {
    const lines = ["FROM busybox AS a", "CMD echo a", "FROM busybox AS b", "CMD echo b"];
    assert.equal(found(lines).length, 2);
    assert.deepEqual(found(lines, { target: "b" }), [
      "JSONArgsRecommended@4: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
    ]);
  });
});

describe("check directives", () => {
  const body = ["FROM busybox AS Build", "CMD echo hi"];

  test("`# check=skip=` silences rules, `skip=all` all of them", () => {
    assert.deepEqual(
      found(["# check=skip=StageNameCasing", ...body]).map((f) => f.split("@")[0]),
      ["JSONArgsRecommended"],
    );
    assert.deepEqual(found(["# check=skip=StageNameCasing,JSONArgsRecommended", ...body]), []);
    assert.deepEqual(found(["# check=skip=all", ...body]), []);
  });

  test("`error=true` turns findings into a violation", () => {
    const report = lint(["# check=error=true", ...body]);
    assert.equal(report.violation, "lint violation found for rules: JSONArgsRecommended, StageNameCasing");
    assert.equal(lint(["# check=error=true", "FROM busybox"]).violation, undefined);
  });

  test("the BUILDKIT_DOCKERFILE_CHECK build arg overrides the directive", () => {
    const report = lint(["# check=skip=all", ...body], {
      buildArgs: { BUILDKIT_DOCKERFILE_CHECK: "skip=JSONArgsRecommended" },
    });
    assert.deepEqual(
      report.findings.map((f) => f.rule),
      ["StageNameCasing"],
    );
  });

  test("a malformed directive is a user error", () => {
    try {
      lint(["# check=skip", ...body]);
      assert.fail("expected an error");
    } catch (e) {
      assert.ok(isUserError(e));
      assert.match(e.message, /invalid check option "skip"/);
    }
  });
});

describe("check output", () => {
  test("text is laid out like buildx, with the source lines around each finding", () => {
    const report = lint(["FROM busybox AS Build", "RUN true", "CMD echo hi"]);
    assert.equal(
      formatLintText(report),
      [
        "Check complete, 2 warnings have been found!",
        "",
        "WARNING: StageNameCasing - https://docs.docker.com/go/dockerfile/rule/stage-name-casing/",
        "Stage name 'Build' should be lowercase",
        "Dockerfile:1",
        "--------------------",
        "   1 | >>> FROM busybox AS Build",
        "   2 |     RUN true",
        "   3 |     CMD echo hi",
        "--------------------",
        "",
        "WARNING: JSONArgsRecommended - https://docs.docker.com/go/dockerfile/rule/json-args-recommended/",
        "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
        "Dockerfile:3",
        "--------------------",
        "   1 |     FROM busybox AS Build",
        "   2 |     RUN true",
        "   3 | >>> CMD echo hi",
        "--------------------",
        "",
      ].join("\n"),
    );
    assert.equal(formatLintText(lint(["FROM busybox"])), "Check complete, no warnings found.\n");
  });

  test("JSON has BuildKit's fields", () => {
    const text = "FROM busybox\nCMD echo hi\n";
    const report = lintDockerfile(parseDockerfile(text, { file: "Dockerfile" }));
    const json = lintToJson(report, text) as {
      warnings: Record<string, unknown>[];
      sources: Record<string, unknown>[];
    };
    assert.deepEqual(json.warnings[0], {
      ruleName: "JSONArgsRecommended",
      description:
        "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals",
      url: "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/",
      detail: "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
      location: {
        sourceIndex: 0,
        ranges: [{ start: { line: 2, character: 0 }, end: { line: 2, character: 11 } }],
      },
    });
    assert.equal(Buffer.from(String(json.sources[0]?.data), "base64").toString(), text);
  });

  test("--call check also reports what would fail the build", async () => {
    const ast = parseDockerfile("FROM busybox\nCOPY --from=nowhere-stage-ref:bad:tag /a /b\n", {
      file: "Dockerfile",
    });
    const report = await checkDockerfile(ast, { platform: amd64, buildPlatform: amd64 });
    assert.equal(report.findings.length, 0);
    assert.ok(report.buildError, "expected a build error");
    assert.match(formatLintText(report), /^ERROR: /m);
  });
});
