// Parser details where BuildKit v0.24 (the oracle, see test/differential/modes.test.ts) reads a Dockerfile
// in a way that is easy to miss: the escape character inside flags, flags on ARG and STOPSIGNAL, the line
// length limit, and the `#` of an indented comment.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDockerfile } from "../../../../src/dockerfile/parse/index.ts";
import { one, parse, parseError } from "./helpers.ts";

describe("parser details as BuildKit reads them", () => {
  it("flag values honour the file's escape character, and only it", () => {
    const tick = parse("# escape=`\nFROM scratch\nCOPY --chmod=7`55 --chown=a\\b a /b\n")[1];
    assert.ok(tick?.keyword === "COPY");
    assert.equal(tick.chmod?.value, "755");
    assert.equal(tick.chown?.value, "a\\b");
    assert.equal(one("COPY --chmod=7\\55 a /b", "COPY").chmod?.value, "755");
  });

  it("ARG and STOPSIGNAL read flags off the line and ignore them", () => {
    const arg = one("ARG --foo=1 x=2", "ARG");
    assert.deepEqual(
      arg.declarations.map((d) => [d.name, d.defaultValue]),
      [["x", "2"]],
    );
    assert.deepEqual(arg.flags, []);
    assert.equal(one("STOPSIGNAL --foo=1 SIGINT", "STOPSIGNAL").signal.value, "SIGINT");
    parseError("FROM a\nARG --foo=1\n", /ARG requires at least one argument/, 2);
    parseError("FROM a\nSTOPSIGNAL --foo\n", /STOPSIGNAL requires exactly one argument/, 2);
    parseError("FROM a\nUSER --foo x\n", /unknown flag: --foo/, 2);
  });

  it("a line longer than 65535 bytes is an error naming the line; 65535 bytes is fine", () => {
    const line = (n: number) => `LABEL a=${"x".repeat(n - "LABEL a=".length)}`;
    assert.equal(parse(`FROM scratch\n${line(65535)}\n`).length, 2);
    const e = parseError(
      `FROM scratch\n${line(65536)}\n`,
      /^dockerfile line greater than max allowed size of 65535$/,
      2,
      1,
    );
    assert.ok((e.location?.source?.length ?? 0) < 100, "the error does not print the whole line");
    // bytes, not characters
    parseError(`FROM scratch\nLABEL a=${"é".repeat(33000)}\n`, /max allowed size of 65535/, 2);
  });

  it("an indented comment keeps its #, so it does not describe a stage", () => {
    const ast = parseDockerfile("FROM scratch AS a\n  # b indented\n# b plain\nFROM scratch AS b\n");
    assert.deepEqual(
      ast.instructions[1]?.comments.map((c) => c.text),
      ["# b indented", "b plain"],
    );
  });
});

describe("the syntax directive", () => {
  const digest = `sha256:${"ab".repeat(32)}`;
  it("serves the official docker/dockerfile names, any tag, with or without a digest", () => {
    for (const name of [
      "docker/dockerfile:1",
      "docker/dockerfile:1.7",
      "docker/dockerfile:1.7.1",
      `docker/dockerfile:1@${digest}`,
      `docker/dockerfile@${digest}`,
      "docker/dockerfile",
      "docker.io/docker/dockerfile:1",
      "docker/dockerfile-upstream:master",
    ]) {
      const ast = parseDockerfile(`# syntax=${name}\nFROM scratch\nRUN true\n`);
      assert.equal(ast.syntax, name);
    }
  });

  it("honours the labs channel of a labs tag (labs-only flags are accepted only there)", () => {
    for (const name of ["docker/dockerfile:1-labs", `docker.io/docker/dockerfile:1.7-labs@${digest}`]) {
      parseDockerfile(`# syntax=${name}\nFROM scratch\nRUN --device=/dev/x true\n`);
    }
    parseError(
      "# syntax=docker/dockerfile:1\nFROM scratch\nRUN --device=/dev/x true\n",
      /device feature is only supported in Dockerfile frontend 1.14.0-labs or later/,
      3,
    );
  });

  it("refuses any other frontend image, saying polyarch runs no external frontends", () => {
    for (const name of [
      "example.com/my/frontend:1",
      "tonistiigi/dockerfile:latest",
      "docker/dockerfilex:1",
    ]) {
      const e = parseError(
        `# syntax=${name}\nFROM scratch\n`,
        /^polyarch does not run external frontends: # syntax=.* names a frontend image other than docker\/dockerfile$/,
        1,
        10,
      );
      assert.match(e.hint ?? "", /docker\/dockerfile:1/);
    }
  });
});
