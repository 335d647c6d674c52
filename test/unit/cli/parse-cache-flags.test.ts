import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCacheTo } from "../../../src/cli/parse-cache-flags.ts";

describe("--cache-to", () => {
  it("reads cache-mounts=true|false, and is without it by default", () => {
    assert.deepEqual(parseCacheTo(["type=local,dest=/c,cache-mounts=true"]), [
      { type: "local", dest: "/c", mode: "min", ignoreError: false, cacheMounts: true },
    ]);
    assert.equal(parseCacheTo(["type=local,dest=/c,cache-mounts=false"])[0]!.cacheMounts, undefined);
    assert.equal(parseCacheTo(["type=local,dest=/c"])[0]!.cacheMounts, undefined);
  });

  it("refuses another value, saying which field", () => {
    assert.throws(
      () => parseCacheTo(["type=local,dest=/c,cache-mounts=yes"]),
      /cache-mounts must be true or false/,
    );
  });
});
