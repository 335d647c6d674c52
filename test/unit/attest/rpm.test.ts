// The rpm scan over a database made by Debian's rpm (rpmbuild a package, rpm --justdb it into a root's
// sqlite rpmdb), as RHEL 9 and Fedora keep theirs.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { scanPackages } from "../../../src/attest/sbom/spdx.ts";
import { makeRpmFixture, type RpmFixture } from "../../support/rpmdb.ts";

let fixture: RpmFixture;
let db: string;

before(async () => {
  fixture = await makeRpmFixture();
  db = fixture.db;
});
after(async () => {
  await fixture?.[Symbol.asyncDispose]();
});

const rootWith = (files: Record<string, string | Buffer>, name: string) => fixture.rootWith(files, name);

test("the packages of an sqlite rpmdb, with rpm purls (epoch, arch, source rpm, distro)", async () => {
  for (const where of ["var/lib/rpm", "usr/lib/sysimage/rpm"]) {
    const root = await rootWith(
      {
        [`${where}/rpmdb.sqlite`]: await readFile(join(db, "rpmdb.sqlite")),
        "etc/os-release": 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.4"\n',
      },
      `rhel-${where.replaceAll("/", "-")}`,
    );
    const found = scanPackages(root);
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.deepEqual(found[0], {
      type: "rpm",
      name: "hello-tool",
      version: "2:1.2.3-4.el9",
      purl: "pkg:rpm/rhel/hello-tool@1.2.3-4.el9?arch=noarch&distro=rhel-9.4&epoch=2&upstream=hello-tool-1.2.3-4.el9.src.rpm",
      foundIn: `/${where}/rpmdb.sqlite`,
      license: "MIT AND Apache-2.0",
      supplier: "Example Corp",
      sourcePackage: "hello-tool-1.2.3-4.el9.src.rpm",
    });
  }
});
