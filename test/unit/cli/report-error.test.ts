import assert from "node:assert/strict";
import { test } from "node:test";
import { formatError, redactSecrets } from "../../../src/cli/report-error.ts";
import { UserError } from "../../../src/errors/user-error.ts";

test("credential keys are redacted; a name that merely ends in one is not a key", () => {
  assert.equal(redactSecrets('{"auth":"dXNlcjpwdw=="}'), '{"auth":"[redacted]"}');
  assert.equal(redactSecrets("password=hunter2&x=1"), "password=[redacted]&x=1");
  assert.equal(redactSecrets("token: abc.def"), "token: [redacted]");
  assert.equal(redactSecrets("secret mysecret: not found"), "secret mysecret: not found");
  assert.equal(redactSecrets("my-token=abc"), "my-token=abc");
});

test("an error with a location says the location once", () => {
  const e = new UserError("COPY: nope", { location: { file: "Dockerfile", line: 2, column: 1 } });
  assert.equal(formatError(e, false), "error: Dockerfile:2:1: COPY: nope");
});
