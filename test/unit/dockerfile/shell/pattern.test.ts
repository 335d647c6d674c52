import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { replaceMatches, trimPrefix, trimSuffix } from "../../../../src/dockerfile/shell/pattern.ts";

describe("shell patterns", () => {
  it("trims the shortest or the longest prefix", () => {
    assert.equal(trimPrefix("a/b/c", "*/", false), "b/c");
    assert.equal(trimPrefix("a/b/c", "*/", true), "c");
    assert.equal(trimPrefix("abc", "", false), "abc");
    assert.equal(trimPrefix("abc", "*", false), "abc");
    assert.equal(trimPrefix("abc", "*", true), "");
    assert.equal(trimPrefix("abc", "x*", true), "abc");
  });

  it("trims the shortest or the longest suffix", () => {
    assert.equal(trimSuffix("a.b.c", ".*", false), "a.b");
    assert.equal(trimSuffix("a.b.c", ".*", true), "a");
    assert.equal(trimSuffix("a.b.c", "?", false), "a.b.");
    assert.equal(trimSuffix("a.b.c", "b*", true), "a.");
  });

  it("replaces the leftmost longest match, or every match", () => {
    assert.equal(replaceMatches("aXbXc", "X*", "_", false), "a_");
    assert.equal(replaceMatches("aXbXc", "X?", "_", true), "a__");
    assert.equal(replaceMatches("abc", "", "-", true), "-a-b-c-");
    assert.equal(replaceMatches("abc", "", "-", false), "-abc");
    assert.equal(replaceMatches("aaa", "a", "b", true), "bbb");
  });

  it("counts non-BMP characters as one", () => {
    assert.equal(trimPrefix("😀x", "?", false), "x");
    assert.equal(replaceMatches("a😀b", "?", ".", true), "...");
  });
});
