import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  classifyWhiteout,
  cleanLayerPath,
  compareLayerPaths,
  opaqueMarkerFor,
  sortByLayerPath,
  whiteoutPathFor,
} from "../../../../src/oci/layer/layer-path.ts";

describe("cleanLayerPath", () => {
  it("normalises the forms tar names come in", () => {
    assert.equal(cleanLayerPath("./usr/bin/"), "usr/bin");
    assert.equal(cleanLayerPath("/etc//passwd"), "etc/passwd");
    assert.equal(cleanLayerPath("a/./b/../c"), "a/c");
    assert.equal(cleanLayerPath("./"), "");
    assert.equal(cleanLayerPath("/"), "");
  });

  it("reports names that climb above the root", () => {
    assert.equal(cleanLayerPath("../etc/passwd"), null);
    assert.equal(cleanLayerPath("a/../../b"), null);
    assert.equal(cleanLayerPath("/.."), null);
  });
});

describe("layer order", () => {
  it("puts parents first, and a directory's children right after it", () => {
    const sorted = sortByLayerPath(["a-b", "a/b", "a", "b", "a/b/c", "a.txt"], (p) => p);
    assert.deepEqual(sorted, ["a", "a/b", "a/b/c", "a-b", "a.txt", "b"]);
  });

  it("puts the opaque marker before every other child, whatever its bytes", () => {
    const sorted = sortByLayerPath(["d/-x", "d/.wh..wh..opq", "d/!", "d", "d/.a"], (p) => p);
    assert.deepEqual(sorted, ["d", "d/.wh..wh..opq", "d/!", "d/-x", "d/.a"]);
  });

  it("compares names as UTF-8 bytes", () => {
    // Surrogate pairs (U+1F600) sort before U+FF5E in UTF-16 code units, but after it as UTF-8 bytes.
    assert.ok(compareLayerPaths("\uff5e", "\u{1f600}") < 0);
    assert.ok(compareLayerPaths("z", "\u00e9") < 0);
  });
});

describe("whiteouts", () => {
  it("names and recognises whiteouts and opaque markers", () => {
    assert.equal(whiteoutPathFor("etc/motd"), "etc/.wh.motd");
    assert.equal(whiteoutPathFor("top"), ".wh.top");
    assert.equal(opaqueMarkerFor("var/cache"), "var/cache/.wh..wh..opq");
    assert.deepEqual(classifyWhiteout("etc/.wh.motd"), { kind: "whiteout", target: "etc/motd" });
    assert.deepEqual(classifyWhiteout("var/.wh..wh..opq"), { kind: "opaque", dir: "var" });
    assert.deepEqual(classifyWhiteout(".wh..wh.plnk/123"), { kind: "meta" });
    assert.deepEqual(classifyWhiteout(".wh..wh.plnk"), { kind: "meta" });
    assert.equal(classifyWhiteout("etc/motd"), null);
  });
});
