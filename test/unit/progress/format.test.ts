import assert from "node:assert/strict";
import { test } from "node:test";
import { amount, bytes, logOffset, seconds } from "../../../src/progress/format.ts";
import { summaryLines } from "../../../src/progress/summary.ts";
import { textWidth, truncate } from "../../../src/progress/text-width.ts";

test("sizes use decimal units with two decimals, as BuildKit shows them", () => {
  assert.equal(bytes(0), "0B");
  assert.equal(bytes(999), "999B");
  assert.equal(bytes(2100), "2.10kB");
  assert.equal(bytes(28_570_000), "28.57MB");
  assert.equal(bytes(999_999), "1.00MB");
  assert.equal(bytes(3.2e9), "3.20GB");
  assert.equal(amount(12_300_000, 40_000_000), "12.30MB / 40.00MB");
  assert.equal(amount(120, undefined), "120B");
  assert.equal(amount(3, 10, "items"), "3/10");
  assert.equal(amount(undefined, undefined), "");
});

test("log offsets keep five characters as the step runs; durations have one decimal", () => {
  assert.deepEqual([0, 512, 9817, 17_580, 123_400, 4_000_000].map(logOffset), [
    "0.000",
    "0.512",
    "9.817",
    "17.58",
    "123.4",
    "4000",
  ]);
  assert.equal(logOffset(-5), "0.000");
  assert.equal(seconds(2149), "2.1s");
  assert.equal(seconds(0), "0.0s");
});

test("the summary aligns its columns and mentions cache and emulation only when there are some", () => {
  assert.deepEqual(
    summaryLines({
      type: "build.done",
      durationMs: 0,
      at: 0,
      platforms: [
        { platform: "linux/amd64", durationMs: 3100, steps: 12, cached: 9, emulatedMs: 0 },
        { platform: "linux/arm/v7", durationMs: 14_200, steps: 1, cached: 0, emulatedMs: 11_000 },
      ],
    }),
    ["linux/amd64   12 steps (9 cached)   3.1s", "linux/arm/v7  1 step               14.2s (11.0s emulated)"],
  );
  assert.deepEqual(summaryLines({ type: "build.done", durationMs: 0, at: 0, platforms: [] }), []);
});

test("text width counts wide characters twice and marks nothing zero-width; truncation ends with an ellipsis", () => {
  assert.equal(textWidth("abc"), 3);
  assert.equal(textWidth("界界"), 4);
  assert.equal(textWidth("e\u0301"), 1);
  assert.equal(textWidth("🚀"), 2);
  assert.equal(truncate("abcdef", 10), "abcdef");
  assert.equal(truncate("abcdef", 4), "abc…");
  assert.equal(truncate("界界界", 4), "界…");
  assert.equal(truncate("abc", 0), "");
});
