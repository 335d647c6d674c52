import assert from "node:assert/strict";
import { test } from "node:test";
import {
  compatiblePlatforms,
  formatPlatform,
  parsePlatform,
  parsePlatformList,
  platformDirName,
  platformMatchRank,
  samePlatform,
  selectForPlatform,
} from "../../../src/oci/platform.ts";

test("normalises the names containerd treats as one platform", () => {
  const cases: [string, string][] = [
    ["linux/amd64", "linux/amd64"],
    ["linux/x86_64", "linux/amd64"],
    ["LINUX/X86-64", "linux/amd64"],
    ["linux/amd64/v1", "linux/amd64"],
    ["linux/amd64/v3", "linux/amd64/v3"],
    ["linux/aarch64", "linux/arm64"],
    ["linux/arm64/v8", "linux/arm64"],
    ["linux/arm64/8", "linux/arm64"],
    ["linux/arm", "linux/arm/v7"],
    ["linux/arm/7", "linux/arm/v7"],
    ["linux/arm/v6", "linux/arm/v6"],
    ["linux/armhf", "linux/arm/v7"],
    ["linux/armel", "linux/arm/v6"],
    ["linux/i386", "linux/386"],
    ["arm64", "linux/arm64"],
    ["macos/arm64", "darwin/arm64"],
  ];
  for (const [input, want] of cases) assert.equal(formatPlatform(parsePlatform(input)), want, input);
});

test("rejects malformed platforms with a hint", () => {
  for (const bad of ["", "linux//amd64", "linux/amd64/v8/x", "linux/am d64", "linux/$ARCH"]) {
    assert.throws(
      () => parsePlatform(bad),
      (e: Error & { hint?: string }) =>
        /invalid platform/.test(e.message) && /linux\/amd64/.test(e.hint ?? ""),
      bad,
    );
  }
});

test("platform lists keep order and drop duplicates after normalisation", () => {
  assert.deepEqual(
    parsePlatformList("linux/amd64,linux/aarch64, linux/arm64/v8,linux/arm").map(formatPlatform),
    ["linux/amd64", "linux/arm64", "linux/arm/v7"],
  );
});

test("one matcher: exact first, then older variants that still run", () => {
  const v7 = parsePlatform("linux/arm/v7");
  assert.equal(platformMatchRank(v7, parsePlatform("linux/arm/v7")), 0);
  assert.ok(platformMatchRank(v7, parsePlatform("linux/arm/v6")) > 0);
  assert.equal(platformMatchRank(parsePlatform("linux/arm/v6"), v7), -1);
  assert.equal(platformMatchRank(parsePlatform("linux/arm64"), parsePlatform("linux/arm64/v8")), 0);
  assert.equal(platformMatchRank(parsePlatform("linux/amd64"), parsePlatform("linux/arm64")), -1);
  assert.ok(
    compatiblePlatforms(parsePlatform("linux/amd64/v3")).some((p) =>
      samePlatform(p, parsePlatform("linux/amd64")),
    ),
  );

  // Then the 32-bit architecture the CPU runs, last (containerd's platforms.Only, which BuildKit uses).
  assert.ok(platformMatchRank(parsePlatform("linux/amd64"), parsePlatform("linux/386")) > 0);
  assert.ok(
    platformMatchRank(parsePlatform("linux/arm64"), parsePlatform("linux/arm/v7")) >
      platformMatchRank(parsePlatform("linux/arm64"), parsePlatform("linux/arm/v8")),
  );
  assert.equal(platformMatchRank(parsePlatform("linux/386"), parsePlatform("linux/amd64")), -1);
  assert.equal(platformMatchRank(parsePlatform("linux/arm/v7"), parsePlatform("linux/arm64")), -1);
  assert.equal(
    selectForPlatform([{ p: "linux/386" }, { p: "linux/amd64" }], parsePlatform("linux/amd64"), (e) =>
      parsePlatform(e.p),
    )?.p,
    "linux/amd64",
  );

  const entries = [{ p: "linux/arm/v6" }, { p: "linux/arm/v7" }, { p: "linux/amd64" }];
  assert.equal(selectForPlatform(entries, v7, (e) => parsePlatform(e.p))?.p, "linux/arm/v7");
  assert.equal(selectForPlatform(entries.slice(0, 1), v7, (e) => parsePlatform(e.p))?.p, "linux/arm/v6");
  assert.equal(
    selectForPlatform(entries, parsePlatform("linux/riscv64"), (e) => parsePlatform(e.p)),
    undefined,
  );
});

test("output directory names follow buildx", () => {
  assert.equal(platformDirName(parsePlatform("linux/arm/v7")), "linux_arm_v7");
  assert.equal(platformDirName(parsePlatform("linux/arm64")), "linux_arm64");
});
