import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { scanPackages } from "../../../src/attest/sbom/spdx.ts";

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "sbom-tree-"));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, path, ".."), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

test("apk's installed db: name, version, arch and origin", async () => {
  const root = await tree({
    "lib/apk/db/installed":
      "C:Q1abc=\nP:musl\nV:1.2.5-r0\nA:aarch64\nL:MIT\no:musl\n\nP:busybox-binsh\nV:1.36.1-r29\nA:aarch64\no:busybox\n",
    "etc/os-release": "ID=alpine\n",
  });
  try {
    assert.deepEqual(
      scanPackages(root).map((p) => p.purl),
      [
        "pkg:apk/alpine/musl@1.2.5-r0?arch=aarch64",
        "pkg:apk/alpine/busybox-binsh@1.36.1-r29?arch=aarch64&upstream=busybox",
      ],
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("dpkg status.d (distroless): one control file per package, md5sums skipped", async () => {
  const root = await tree({
    "var/lib/dpkg/status.d/base-files": "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: arm64\n",
    "var/lib/dpkg/status.d/base-files.md5sums": "d41d8cd98f00b204e9800998ecf8427e  etc/issue\n",
    "var/lib/dpkg/status.d/tzdata": "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
    "etc/os-release": 'ID="debian"\n',
  });
  try {
    assert.deepEqual(
      scanPackages(root).map((p) => `${p.purl} ${p.foundIn}`),
      [
        "pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=arm64 /var/lib/dpkg/status.d/base-files",
        "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all /var/lib/dpkg/status.d/tzdata",
      ],
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("npm scoped packages; a package.json outside node_modules is not a package", async () => {
  const root = await tree({
    "app/package.json": JSON.stringify({ name: "my-app", version: "0.0.1" }),
    "app/node_modules/@types/node/package.json": JSON.stringify({ name: "@types/node", version: "20.1.0" }),
    "app/node_modules/broken/package.json": "{ not json",
  });
  try {
    assert.deepEqual(
      scanPackages(root).map((p) => p.purl),
      ["pkg:npm/%40types/node@20.1.0"],
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
