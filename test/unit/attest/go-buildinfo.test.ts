import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { goPackages } from "../../../src/attest/sbom/go-buildinfo.ts";
import { goBinary } from "../../support/go-elf.ts";

test("Go build info: main module, dependencies and the Go version", async () => {
  const dir = await mkdtemp(join(tmpdir(), "go-bi-"));
  try {
    await writeFile(
      join(dir, "app"),
      goBinary("go1.23.1", { main: "example.com/a/b", deps: [["github.com/x/y/v2", "v2.0.1"]] }),
    );
    assert.deepEqual(
      goPackages(join(dir, "app"), "/app").map((p) => p.purl),
      [
        "pkg:golang/example.com/a/b@(devel)",
        "pkg:golang/github.com/x/y/v2@v2.0.1",
        "pkg:golang/stdlib@1.23.1",
      ],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("hostile ELF headers (offsets past the end, huge tables, lying lengths) are skipped, not read", async () => {
  const dir = await mkdtemp(join(tmpdir(), "go-bi-"));
  try {
    const good = goBinary("go1.23.1", { main: "m", deps: [] });
    const variants: Buffer[] = [];
    const farTable = Buffer.from(good);
    farTable.writeBigUInt64LE(1n << 60n, 0x28); // e_shoff far beyond the file
    variants.push(farTable);
    const manySections = Buffer.from(good);
    manySections.writeUInt16LE(0xffff, 0x3c); // e_shnum: a table larger than the file
    variants.push(manySections);
    const bigSection = Buffer.from(good);
    // the .go.buildinfo section (the third header) claims 2^40 bytes
    const shoff = Number(bigSection.readBigUInt64LE(0x28));
    bigSection.writeBigUInt64LE(1n << 40n, shoff + 2 * 64 + 0x20);
    variants.push(bigSection);
    const lyingLength = Buffer.from(good);
    lyingLength[64 + 32] = 0xff; // the version's varint runs on
    lyingLength[64 + 33] = 0xff;
    lyingLength[64 + 34] = 0x7f;
    variants.push(lyingLength);
    variants.push(good.subarray(0, 40)); // cut short
    for (const [i, bytes] of variants.entries()) {
      await writeFile(join(dir, `v${i}`), bytes);
      assert.deepEqual(goPackages(join(dir, `v${i}`), `/v${i}`), [], `variant ${i}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
