import assert from "node:assert/strict";
import { test } from "node:test";
import { UserError } from "../../../src/errors/user-error.ts";
import {
  defaultKeepStorage,
  defaultRules,
  parseDuration,
  parseFilters,
  parseSize,
  selectForPrune,
  type UsageEntry,
} from "../../../src/solver/gc-policy.ts";

const hour = 3_600_000;
const now = 1_000 * hour;

function entry(
  id: string,
  lastUsedHoursAgo: number,
  size: number,
  extra: Partial<UsageEntry> = {},
): UsageEntry {
  return {
    id,
    kind: "snapshot",
    type: "regular",
    description: id,
    size,
    createdMs: now - lastUsedHoursAgo * hour,
    lastUsedMs: now - lastUsedHoursAgo * hour,
    usageCount: 1,
    shared: false,
    inUse: false,
    forImage: false,
    ...extra,
  };
}

const ids = (es: readonly UsageEntry[]) => es.map((e) => e.id);

test("prune removes least recently used first, never what is in use, and keeps images' layers without --all", () => {
  const entries = [
    entry("new", 1, 10),
    entry("old", 50, 10),
    entry("busy", 100, 10, { inUse: true }),
    entry("img", 90, 10, { forImage: true, kind: "layer", type: "layer" }),
    entry("mid", 10, 10),
  ];
  assert.deepEqual(ids(selectForPrune(entries, { all: false, filters: {} }, now, 50)), ["old", "mid", "new"]);
  assert.deepEqual(ids(selectForPrune(entries, { all: true, filters: {} }, now, 50)), [
    "img",
    "old",
    "mid",
    "new",
  ]);
});

test("--filter until= spares what was used more recently; type= only considers those types", () => {
  const entries = [
    entry("a", 30, 1),
    entry("b", 10, 1, { type: "source.local" }),
    entry("c", 48, 1, { type: "exec.cachemount", kind: "cache-mount" }),
  ];
  const until = parseFilters(["until=24h"]);
  assert.deepEqual(ids(selectForPrune(entries, { all: false, filters: until }, now, 3)), ["c", "a"]);
  const types = parseFilters(["type=source.local,exec.cachemount"]);
  assert.deepEqual(ids(selectForPrune(entries, { all: false, filters: types }, now, 3)), ["c", "b"]);
  const both = parseFilters(["type==source.local", "unused-for=5h"]);
  assert.deepEqual(ids(selectForPrune(entries, { all: false, filters: both }, now, 3)), ["b"]);
});

test("--keep-storage stops once what is left fits", () => {
  const entries = [entry("a", 5, 100), entry("b", 4, 100), entry("c", 3, 100)];
  // 350 held (50 of it not removable): removing a leaves 250, b leaves 150 ≤ 200.
  assert.deepEqual(
    ids(selectForPrune(entries, { all: false, filters: {}, keepStorageBytes: 200 }, now, 350)),
    ["a", "b"],
  );
  assert.deepEqual(selectForPrune(entries, { all: false, filters: {}, keepStorageBytes: 400 }, now, 350), []);
  assert.deepEqual(ids(selectForPrune(entries, { all: false, filters: {}, keepStorageBytes: 0 }, now, 350)), [
    "a",
    "b",
    "c",
  ]);
});

test("the default policy: 10% of the disk, at most 20 GB; first rule only for contexts, mounts, checkouts unused 48h", () => {
  assert.equal(defaultKeepStorage(100 * 1024 ** 3), 10 * 1024 ** 3);
  assert.equal(defaultKeepStorage(1024 ** 4), 20 * 1024 ** 3);
  assert.equal(defaultKeepStorage(undefined), 2 * 1024 ** 3);
  const [first, second] = defaultRules(10 * 1024 ** 3);
  assert.deepEqual(first!.filters.types, ["source.local", "exec.cachemount", "source.git.checkout"]);
  assert.equal(first!.filters.unusedForMs, 48 * hour);
  assert.equal(first!.keepStorageBytes, 512 * 1024 ** 2);
  assert.equal(second!.keepStorageBytes, 10 * 1024 ** 3);
});

test("sizes and durations read as buildx reads them; bad ones are UserErrors that say what to write", () => {
  assert.equal(parseSize("10GB", "x"), 10 * 1024 ** 3);
  assert.equal(parseSize("512m", "x"), 512 * 1024 ** 2);
  assert.equal(parseSize("1.5g", "x"), 1.5 * 1024 ** 3);
  assert.equal(parseSize("4096", "x"), 4096);
  assert.equal(parseSize("2 MiB", "x"), 2 * 1024 ** 2);
  assert.throws(
    () => parseSize("ten", "--keep-storage"),
    (e) => e instanceof UserError && /--keep-storage/.test(e.message),
  );
  assert.equal(parseDuration("24h", "x"), 24 * hour);
  assert.equal(parseDuration("1h30m", "x"), 1.5 * hour);
  assert.equal(parseDuration("90s", "x"), 90_000);
  assert.throws(() => parseDuration("3d", "until"), UserError);
  assert.throws(() => parseFilters(["type=bogus"]), /not a type/);
  assert.throws(() => parseFilters(["label=x"]), /not a filter/);
  assert.throws(() => parseFilters(["until"]), /invalid --filter/);
  assert.deepEqual(parseFilters(["id=run-"]), { id: "run-" });
});
