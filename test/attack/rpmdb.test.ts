// The rpm scan reads a database file the Dockerfile made, on the host: garbage where the database should
// be, or a link to a real database outside the tree. Neither is opened as the host's, neither fails the scan.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { scanPackages } from "../../src/attest/sbom/spdx.ts";
import { runOk } from "../harness/exec.ts";
import { attack } from "./support/attack.ts";

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
