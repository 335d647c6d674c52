import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatError } from "../../../../src/cli/report-error.ts";
import { closestMatch, DockerfileError, didYouMean } from "../../../../src/dockerfile/errors.ts";
import { parseDockerfile } from "../../../../src/dockerfile/parse/index.ts";
import { isUserError } from "../../../../src/errors/user-error.ts";
import { parseError } from "./helpers.ts";

describe("positioned errors", () => {
  it("reports an unknown instruction with file, line, column, source line and a suggestion", () => {
    const text = "FROM alpine\nRUN true\n\n# build\n\n\nRUNN make\n";
    let caught: unknown;
    try {
      parseDockerfile(text, { file: "app/Dockerfile" });
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof DockerfileError);
    assert.ok(isUserError(caught));
    assert.equal(caught.message, "unknown instruction: RUNN (did you mean RUN?)");
    assert.deepEqual(caught.location, { file: "app/Dockerfile", line: 7, column: 1, source: "RUNN make" });
    assert.equal(
      formatError(caught, false),
      "error: app/Dockerfile:7:1: unknown instruction: RUNN (did you mean RUN?)\n 7 | RUNN make\n     ^",
    );
  });

  it("suggests close keywords whatever their case, and lists instructions otherwise", () => {
    parseError("FROM a\ncopyy . .\n", /unknown instruction: copyy \(did you mean copy\?\)/);
    parseError("FROM a\nFOO x\n", /unknown instruction: FOO \(did you mean FROM\?\)/);
    parseError("FORM a\n", /did you mean FROM\?/);
    parseError("FROM a\nENTRYPIONT x\n", /did you mean ENTRYPOINT\?/);
    const e = parseError("FROM a\nFOOBAR x\n", /^unknown instruction: FOOBAR$/, 2, 1);
    assert.match(e.hint ?? "", /instructions are ADD, ARG/);
  });

  it("points into continuation lines", () => {
    parseError("FROM a\nRUN --network=none \\\n    --bogus=1 make\n", /unknown flag: --bogus/, 3, 5);
    parseError("FROM a\nCOPY \\\n  --from=x \\\n  --from=y a b\n", /duplicate flag/, 4, 3);
  });

  it("points at an indented keyword", () => {
    parseError("FROM a\n    BAD x\n", /unknown instruction: BAD/, 2, 5);
  });

  it("closestMatch only returns likely typos", () => {
    assert.equal(closestMatch("run", ["RUN", "ARG"]), "RUN");
    assert.equal(closestMatch("workdri", ["WORKDIR", "USER"]), "WORKDIR");
    assert.equal(closestMatch("xyz", ["RUN", "ARG"]), undefined);
    assert.equal(closestMatch("COPYFILES", ["COPY"]), undefined);
    assert.equal(didYouMean("exposee", ["EXPOSE"]), "did you mean expose?");
    assert.equal(didYouMean("EXPOSEE", ["EXPOSE"]), "did you mean EXPOSE?");
  });

  it("shows the source line even for CRLF files, without the carriage return", () => {
    const e = parseError("FROM a\r\nRUNN x\r\n", /unknown instruction/);
    assert.equal(e.location?.source, "RUNN x");
  });
});
