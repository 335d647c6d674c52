import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  containsWildcards,
  matchComponent,
  matchWildcards,
  splitWildcards,
} from "../../../../src/worker/fileop/wildcard.ts";
import { fixture } from "./helpers.ts";

describe("wildcards", () => {
  it("match one path component as Go's filepath.Match does", () => {
    // [pattern, name, matches] — cases from Go's own match tests that apply to one component.
    const cases: [string, string, boolean][] = [
      ["abc", "abc", true],
      ["*", "abc", true],
      ["*c", "abc", true],
      ["a*", "a", true],
      ["a*", "abc", true],
      ["a*b*c*d*e*", "axbxcxdxe", true],
      ["ab[c]", "abc", true],
      ["ab[b-d]", "abc", true],
      ["ab[e-g]", "abc", false],
      ["ab[^c]", "abc", false],
      ["ab[^b-d]", "abc", false],
      ["ab[^e-g]", "abc", true],
      ["a\\*b", "a*b", true],
      ["a\\*b", "ab", false],
      ["a?b", "a☺b", true],
      ["a[^a]b", "a☺b", true],
      ["a???b", "a☺b", false],
      ["[a-ζ]*", "α", true],
      ["*[a-ζ]", "A", false],
      ["[\\]a]", "]", true],
      ["[\\-]", "-", true],
      ["[x\\-]", "z", false],
      [".*", ".hidden", true],
      ["*", ".hidden", true],
      // Malformed patterns match nothing.
      ["[", "a", false],
      ["[^", "a", false],
      ["[]a]", "]", false],
      ["[-]", "-", false],
      ["[x-]", "x", false],
      ["a\\", "a", false],
      ["[a-b-c]", "a", false],
      ["[z-a]", "m", false],
    ];
    for (const [pattern, name, want] of cases)
      assert.equal(matchComponent(pattern, name), want, `${pattern} ~ ${name}`);
  });

  it("find the first component with a wildcard, escapes aside", () => {
    assert.equal(containsWildcards("/a/b\\*c"), false);
    assert.equal(containsWildcards("/a/b[c]"), true);
    assert.deepEqual(splitWildcards("/src/*/conf/*.yml"), ["/src", ["*", "conf", "*.yml"]]);
    assert.deepEqual(splitWildcards("/plain/path"), ["/plain/path", []]);
  });

  it("select matches in byte order, descending only into real directories", () => {
    const f = fixture({
      "b/x.txt": "",
      "a/x.txt": "",
      "B/x.txt": "",
      "c/y.txt": "",
      link: { link: "a" },
    });
    assert.deepEqual(
      matchWildcards(f.src, "/*/x.txt", true).map((m) => m.path),
      ["/B/x.txt", "/a/x.txt", "/b/x.txt"],
    );
    assert.deepEqual(matchWildcards(f.src, "/link/*", true), [{ path: "/a/x.txt", rel: "x.txt" }]);
    assert.deepEqual(matchWildcards(f.src, "/nope/*", true), []);
  });
});
