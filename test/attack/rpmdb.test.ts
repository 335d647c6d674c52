// The rpm scan reads a database file the Dockerfile made, on the host: garbage where the database should
// be, or a link to a real database outside the tree. Neither is opened as the host's, neither fails the scan.
import assert from "node:assert/strict";
import { mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { after, before } from "node:test";
import { scanPackages } from "../../src/attest/sbom/spdx.ts";
import { makeRpmFixture, type RpmFixture } from "../support/rpmdb.ts";
import { attack } from "./support/attack.ts";

let fixture: RpmFixture;
let work: string;
let db: string;

before(async () => {
  fixture = await makeRpmFixture();
  work = fixture.work;
  db = fixture.db;
});
after(async () => {
  await fixture?.[Symbol.asyncDispose]();
});

const rootWith = (files: Record<string, string | Buffer>, name: string) => fixture.rootWith(files, name);

attack(
  "an rpmdb that is not a database, or a link to the host's, gives no packages and no failure",
  async () => {
    const garbage = await rootWith(
      { "var/lib/rpm/rpmdb.sqlite": "SQLite format 3\0 but not really" },
      "garbage",
    );
    assert.deepEqual(scanPackages(garbage), []);
    // A link to the host's real database: resolved inside the tree, where there is none.
    const linked = join(work, "linked");
    await mkdir(join(linked, "var/lib/rpm"), { recursive: true });
    await symlink(join(db, "rpmdb.sqlite"), join(linked, "var/lib/rpm/rpmdb.sqlite"));
    assert.deepEqual(scanPackages(linked), []);
  },
);
