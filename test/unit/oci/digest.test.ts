import assert from "node:assert/strict";
import { test } from "node:test";
import { Digester, digestOf, isDigest, parseDigest } from "../../../src/oci/digest.ts";

test("digests of known inputs", () => {
  assert.equal(digestOf(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(
    digestOf("abc", "sha512"),
    "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
  );
  const d = new Digester();
  d.update(Buffer.from("a"));
  d.update(Buffer.from("bc"));
  assert.equal(d.digest(), digestOf("abc"));
  assert.equal(d.size, 3);
});

test("parse accepts only sha256/sha512 in canonical hex", () => {
  assert.ok(isDigest(`sha256:${"a".repeat(64)}`));
  assert.ok(!isDigest(`sha256:${"A".repeat(64)}`));
  assert.ok(!isDigest(`sha256:${"a".repeat(63)}`));
  assert.throws(() => parseDigest(`md5:${"a".repeat(32)}`), /unsupported digest algorithm "md5"/);
  assert.throws(() => parseDigest("sha256:xyz"), /not a valid digest/);
});
