/**
 * A real sqlite rpmdb for the rpm scan's tests: Debian's rpmbuild makes a small package, and rpm --justdb
 * records it into a fresh database, as RHEL 9 and Fedora keep theirs. `rootWith` lays out a tree of files.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOk } from "../harness/exec.ts";

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

export interface RpmFixture extends AsyncDisposable {
  work: string;
  /** The directory holding rpmdb.sqlite. */
  db: string;
  rootWith(files: Record<string, string | Buffer>, name: string): Promise<string>;
}

export async function makeRpmFixture(): Promise<RpmFixture> {
  const work = await mkdtemp(join(tmpdir(), "polyarch-rpm-"));
  await writeFile(join(work, "hello.spec"), spec);
  const top = join(work, "top");
  await runOk("rpmbuild", ["-bb", "--define", `_topdir ${top}`, join(work, "hello.spec")]);
  const rpmFile = join(top, "RPMS/noarch/hello-tool-1.2.3-4.el9.noarch.rpm");
  const db = join(work, "made/var/lib/rpm");
  const sqlite = ["--define", "_db_backend sqlite", "--dbpath", db];
  await runOk("rpm", [...sqlite, "--initdb"]);
  await runOk("rpm", [...sqlite, "-i", "--justdb", "--nodeps", "--noscripts", rpmFile]);
  return {
    work,
    db,
    async rootWith(files, name) {
      const root = join(work, name);
      for (const [path, content] of Object.entries(files)) {
        await mkdir(join(root, path, ".."), { recursive: true });
        await writeFile(join(root, path), content);
      }
      return root;
    },
    [Symbol.asyncDispose]: () => rm(work, { recursive: true, force: true }),
  };
}
