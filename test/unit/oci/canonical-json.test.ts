import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalJson } from "../../../src/oci/canonical-json.ts";

test("keys sorted by code unit at every depth, integer-like keys included", () => {
  assert.equal(
    canonicalJson({ b: 1, a: [{ d: 1, c: 2 }], "": false, "10": 1, "9": 2 }),
    '{"":false,"10":1,"9":2,"a":[{"c":2,"d":1}],"b":1}',
  );
});

test("undefined fields are dropped and equal values give equal bytes", () => {
  assert.equal(canonicalJson({ a: undefined, b: [undefined, 1] }), '{"b":[null,1]}');
  assert.equal(canonicalJson({ x: 1, y: "é\n" }), canonicalJson({ y: "é\n", x: 1 }));
});
