// The rpm scan over a database made by Debian's rpm (rpmbuild a package, rpm --justdb it into a root's
// sqlite rpmdb), as RHEL 9 and Fedora keep theirs.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { scanPackages } from "../../../src/attest/sbom/spdx.ts";
import { runOk } from "../../harness/exec.ts";

let work: string;
let db: string;

const spec = `Name: hello-tool
Version: 1.2.3
Release: 4.el9
Epoch: 2
Summary: a test package
License: MIT AND Apache-2.0
Vendor: Example Corp
BuildArch: noarch
%description
test
%files
`;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "polyarch-rpm-"));
  await writeFile(join(work, "hello.spec"), spec);
  const top = join(work, "top");
  await runOk("rpmbuild", ["-bb", "--define", `_topdir ${top}`, join(work, "hello.spec")]);
  const rpmFile = join(top, "RPMS/noarch/hello-tool-1.2.3-4.el9.noarch.rpm");
  db = join(work, "made/var/lib/rpm");
  const sqlite = ["--define", "_db_backend sqlite", "--dbpath", db];
  await runOk("rpm", [...sqlite, "--initdb"]);
  await runOk("rpm", [...sqlite, "-i", "--justdb", "--nodeps", "--noscripts", rpmFile]);
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function rootWith(files: Record<string, string | Buffer>, name: string): Promise<string> {
  const root = join(work, name);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, ".."), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

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
