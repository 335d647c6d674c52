import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAuthChallenges } from "../../../src/registry/auth-challenge.ts";

test("bearer challenge with a comma inside the quoted scope", () => {
  const [c] = parseAuthChallenges(
    'Bearer realm="https://auth.example/token",service="reg.example",scope="repository:a/b:pull,push"',
  );
  assert.equal(c?.scheme, "bearer");
  assert.deepEqual(c?.params, {
    realm: "https://auth.example/token",
    service: "reg.example",
    scope: "repository:a/b:pull,push",
  });
});

test("several challenges, escaped quotes and token68-free basic", () => {
  const cs = parseAuthChallenges([
    'Basic realm="a \\"quoted\\" realm"',
    'Bearer realm="r", error="insufficient_scope"',
  ]);
  assert.equal(cs.length, 2);
  assert.equal(cs[0]?.params.realm, 'a "quoted" realm');
  assert.equal(cs[1]?.params.error, "insufficient_scope");
  assert.deepEqual(parseAuthChallenges(undefined), []);
});
