import assert from "node:assert/strict";
import { test } from "node:test";
import { splitCsvFields } from "../../../src/exporter/csv-fields.ts";
import { epochDate, formatCreated, isAfterEpoch } from "../../../src/exporter/timestamps.ts";

test("created times are written as Go writes a UTC time.Time", () => {
  assert.equal(formatCreated(epochDate(0)), "1970-01-01T00:00:00Z");
  assert.equal(formatCreated(epochDate(1_700_000_000)), "2023-11-14T22:13:20Z");
  assert.equal(formatCreated(new Date("2024-05-06T07:08:09.120Z")), "2024-05-06T07:08:09.12Z");
});

test("times later than the epoch are found, nanoseconds included", () => {
  assert.equal(isAfterEpoch("2023-11-14T22:13:20Z", 1_700_000_000), false);
  assert.equal(isAfterEpoch("2023-11-14T22:13:20.5Z", 1_700_000_000), true);
  assert.equal(isAfterEpoch("2023-11-14T22:13:19.999999999Z", 1_700_000_000), false);
  assert.equal(isAfterEpoch("2023-11-14T23:13:20+01:00", 1_700_000_000), false);
  assert.equal(isAfterEpoch("garbage", 1_700_000_000), true);
});

test("-o fields split on commas outside double quotes", () => {
  assert.deepEqual(splitCsvFields("type=oci,dest=a.tar", "-o"), ["type=oci", "dest=a.tar"]);
  assert.deepEqual(splitCsvFields('type=image,"name=a:1,b:1",push=true', "-o"), [
    "type=image",
    "name=a:1,b:1",
    "push=true",
  ]);
  assert.deepEqual(splitCsvFields('type=image,name="a:1,b:1"', "-o"), ["type=image", "name=a:1,b:1"]);
  assert.deepEqual(splitCsvFields('"annotation.q=say ""hi"""', "-o"), ['annotation.q=say "hi"']);
  assert.throws(() => splitCsvFields('type=image,"name=a', "-o"), /not closed/);
});
