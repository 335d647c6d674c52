import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { linkSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { openContentStore } from "../../../../src/content/index.ts";
import { archiveTree, unpackTree } from "../../../../src/worker/layer/tree-archive.ts";
import { tarOf, tempDir } from "./helpers.ts";
import { describeTree } from "./tree.ts";

function cacheTree(root: string): void {
  mkdirSync(join(root, "pkg", "mod"), { recursive: true });
  writeFileSync(join(root, "pkg", "mod", "a.go"), "package a\n");
  writeFileSync(join(root, "big"), Buffer.alloc(4096, 7));
  linkSync(join(root, "big"), join(root, "big-link"));
  symlinkSync("pkg/mod/a.go", join(root, "latest"));
}

describe("tree archives (cache mounts' contents)", () => {
  it("are deterministic and unpack to the same tree", async () => {
    const store = await openContentStore(join(tempDir(), "store"));
    const a = join(tempDir(), "a");
    const b = join(tempDir(), "b");
    for (const d of [a, b]) {
      mkdirSync(d);
      cacheTree(d);
    }
    const first = await archiveTree(a, store, 1 << 20);
    const second = await archiveTree(b, store, 1 << 20);
    assert.ok(first && second);
    assert.equal(first.descriptor.digest, second.descriptor.digest);
    const into = join(tempDir(), "restored");
    mkdirSync(into);
    await unpackTree(await store.readStream(first.descriptor.digest), into, 1 << 20);
    assert.deepEqual(describeTree(into), describeTree(a));
    assert.equal(readFileSync(join(into, "pkg", "mod", "a.go"), "utf8"), "package a\n");
  });

  it("leave device nodes and fifos out, and hold nothing for an empty directory", async () => {
    const store = await openContentStore(join(tempDir(), "store"));
    const root = join(tempDir(), "t");
    mkdirSync(root);
    assert.equal(await archiveTree(root, store, 1 << 20), undefined);
    execFileSync("mkfifo", [join(root, "pipe")]);
    if (process.getuid?.() === 0) execFileSync("mknod", [join(root, "null"), "c", "1", "3"]);
    writeFileSync(join(root, "kept"), "k");
    const archived = await archiveTree(root, store, 1 << 20);
    assert.ok(archived);
    const into = join(tempDir(), "restored");
    mkdirSync(into);
    await unpackTree(await store.readStream(archived.descriptor.digest), into, 1 << 20);
    assert.deepEqual(readdirSync(into), ["kept"]);
  });

  it("refuse a tree over the bound before writing, and an archive that unpacks past it", async () => {
    const store = await openContentStore(join(tempDir(), "store"));
    const root = join(tempDir(), "t");
    mkdirSync(root);
    writeFileSync(join(root, "f"), Buffer.alloc(10_000));
    await assert.rejects(archiveTree(root, store, 9_999), /more than the bound of 9999/);
    // A bomb: 8 MiB of zeros in a few KiB of gzip.
    const bomb = gzipSync(await tarOf([{ name: "zeros", content: "\0".repeat(8 << 20) }]));
    assert.ok(bomb.length < 64 * 1024);
    const into = join(tempDir(), "into");
    mkdirSync(into);
    await assert.rejects(
      unpackTree(Readable.from([bomb]), into, 1 << 20),
      /unpacks to more than 1048576 bytes/,
    );
  });

  it("refuse device nodes, fifos and whiteouts in an archive", async () => {
    for (const spec of [
      { name: "dev", type: "character-device" as const },
      { name: "pipe", type: "fifo" as const },
      { name: ".wh.gone", content: "" },
      { name: "d/.wh..wh..opq", content: "" },
    ]) {
      const into = join(tempDir(), "into");
      mkdirSync(into);
      await assert.rejects(
        unpackTree(Readable.from([gzipSync(await tarOf([spec]))]), into, 1 << 20),
        /holds no device nodes, fifos or whiteouts/,
        spec.name,
      );
    }
  });
});
