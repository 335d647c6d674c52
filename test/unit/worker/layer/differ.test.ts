import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  createReadStream,
  createWriteStream,
  linkSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setAttributeSync } from "@napi-rs/xattr";
import { decompressedLayer } from "../../../../src/oci/layer/compression.ts";
import { readTar } from "../../../../src/oci/layer/tar-reader.ts";
import { computeChanges } from "../../../../src/worker/layer/differ.ts";
import { exportLayers } from "../../../../src/worker/layer/export-layer.ts";
import { applyFile, exportToFile, tempDir } from "./helpers.ts";
import { describeTree } from "./tree.ts";

const T = 1_600_000_000;

/** Builds the same tree in a given order of creation, then fixes every mtime (directories last). */
function buildTree(root: string, order: "forward" | "reverse"): void {
  const steps: Array<() => void> = [
    () => mkdirSync(join(root, "etc"), { recursive: true }),
    () => writeFileSync(join(root, "etc/hosts"), "127.0.0.1 localhost\n"),
    () => writeFileSync(join(root, "etc/ëxotic name"), "ü"),
    () => mkdirSync(join(root, "usr/bin"), { recursive: true }),
    () => writeFileSync(join(root, "usr/bin/tool"), Buffer.alloc(200_000, 7)),
    () => mkdirSync(join(root, "var/lib"), { recursive: true }),
  ];
  for (const step of order === "forward" ? steps : [...steps].reverse()) {
    try {
      step();
    } catch {
      // reverse order: parents come later; create them first
      mkdirSync(join(root, "etc"), { recursive: true });
      mkdirSync(join(root, "usr/bin"), { recursive: true });
      step();
    }
  }
  setAttributeSync(join(root, "usr/bin/tool"), "user.note", Buffer.from([0, 1, 0xfe]));
  chmodSync(join(root, "usr/bin/tool"), 0o755);
  symlinkSync("../usr/bin/tool", join(root, "etc/tool-link"));
  linkSync(join(root, "usr/bin/tool"), join(root, "usr/bin/tool-hard"));
  fixTimes(root);
}

function fixTimes(root: string): void {
  const walk = (dir: string) => {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, name.name);
      if (name.isDirectory()) walk(p);
      lutimesSync(p, T, T);
    }
  };
  walk(root);
  utimesSync(root, T, T);
}

async function layerNames(file: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of readTar(await decompressedLayer(createReadStream(file)))) {
    names.push(e.type === "hardlink" ? `${e.name} => ${e.linkname}` : e.name);
  }
  return names;
}

describe("differ", () => {
  it("gives the same digests whatever order files were created in", async () => {
    const a = tempDir();
    const b = tempDir();
    buildTree(a, "forward");
    buildTree(b, "reverse");
    const la = await exportToFile(join(tempDir(), "a.tgz"), { upper: a, upperKind: "tree" });
    const lb = await exportToFile(join(tempDir(), "b.tgz"), { upper: b, upperKind: "tree" });
    assert.equal(la.empty, false);
    assert.deepEqual(la, lb);
  });

  it("reports an unchanged step as an empty layer and opens no sink", async () => {
    const lower = tempDir();
    buildTree(lower, "forward");
    const upper = join(tempDir(), "copy");
    execFileSync("cp", ["-a", lower, upper]);
    let opened = false;
    const result = await exportLayers([
      {
        lower,
        upper,
        upperKind: "tree",
        sink: () => {
          opened = true;
          throw new Error("no sink expected");
        },
      },
    ]);
    assert.deepEqual(result, [{ empty: true }]);
    assert.equal(opened, false);
  });

  it("emits exactly the changes, with whiteouts and parents, and applies back to the same tree", async () => {
    const lower = tempDir();
    buildTree(lower, "forward");
    mkdirSync(join(lower, "var/lib/old/deep"), { recursive: true });
    writeFileSync(join(lower, "var/lib/old/deep/x"), "x");
    writeFileSync(join(lower, "var/lib/keep"), "keep");
    writeFileSync(join(lower, "etc/replaced"), "file");
    fixTimes(lower);
    const upper = join(tempDir(), "upper");
    execFileSync("cp", ["-a", lower, upper]);
    writeFileSync(join(upper, "etc/hosts"), "127.0.0.1 localhost polyarch\n");
    chmodSync(join(upper, "usr/bin/tool"), 0o700);
    rmSync(join(upper, "etc/ëxotic name"));
    rmSync(join(upper, "var/lib/old"), { recursive: true });
    rmSync(join(upper, "etc/replaced"));
    mkdirSync(join(upper, "etc/replaced"));
    writeFileSync(join(upper, "var/lib/new"), "new");
    linkSync(join(upper, "etc/hosts"), join(upper, "etc/hosts.link"));

    const work = tempDir();
    const diff = await exportToFile(join(work, "diff.tgz"), { lower, upper, upperKind: "tree" });
    assert.equal(diff.empty, false);
    assert.deepEqual(await layerNames(join(work, "diff.tgz")), [
      "etc/",
      "etc/.wh.ëxotic name",
      "etc/hosts",
      "etc/hosts.link => etc/hosts",
      "etc/replaced/",
      "usr/",
      "usr/bin/",
      "usr/bin/tool",
      "usr/bin/tool-hard => usr/bin/tool",
      "var/",
      "var/lib/",
      "var/lib/.wh.old",
      "var/lib/new",
    ]);

    const base = await exportToFile(join(work, "base.tgz"), { upper: lower, upperKind: "tree" });
    assert.equal(base.empty, false);
    const root = tempDir();
    await applyFile(join(work, "base.tgz"), { root });
    await applyFile(join(work, "diff.tgz"), { root });
    assert.deepEqual(describeTree(root), describeTree(upper));
  });

  it("notices a same-size rewrite when mtimes have only whole seconds", async () => {
    const lower = tempDir();
    writeFileSync(join(lower, "f"), "aaaa");
    utimesSync(join(lower, "f"), T, T);
    const upper = join(tempDir(), "u");
    execFileSync("cp", ["-a", lower, upper]);
    writeFileSync(join(upper, "f"), "bbbb");
    utimesSync(join(upper, "f"), T, T);
    const changes = await computeChanges({ lower, upper, upperKind: "tree" });
    assert.deepEqual(
      changes.map((c) => c.entry.path),
      ["f"],
    );
  });

  it("gives one digest for different mtimes once clamped to SOURCE_DATE_EPOCH", async () => {
    const a = tempDir();
    const b = tempDir();
    for (const [dir, time] of [
      [a, 1_700_000_000],
      [b, 1_750_000_000],
    ] as const) {
      mkdirSync(join(dir, "app"));
      writeFileSync(join(dir, "app/main.js"), "console.log(1)\n");
      utimesSync(join(dir, "app/main.js"), time, time);
      utimesSync(join(dir, "app"), time, time);
    }
    const opts = { upperKind: "tree" as const, clampMtime: 1_600_000_000 };
    const la = await exportToFile(join(tempDir(), "a.tgz"), { ...opts, upper: a });
    const lb = await exportToFile(join(tempDir(), "b.tgz"), { ...opts, upper: b });
    assert.deepEqual(la, lb);
    const unclamped = await exportToFile(join(tempDir(), "c.tgz"), { upper: a, upperKind: "tree" });
    assert.notDeepEqual(unclamped, la);
  });

  it("compresses with gzip, zstd or not at all, with one diff_id, and exports layers concurrently", async () => {
    const tree = tempDir();
    buildTree(tree, "forward");
    const work = tempDir();
    const kinds = ["gzip", "zstd", "none"] as const;
    const results = await exportLayers(
      kinds.map((compression) => ({
        upper: tree,
        upperKind: "tree" as const,
        compression,
        sink: () => createWriteStream(join(work, compression)),
      })),
    );
    const diffIds = results.map((r) => (r.empty ? null : r.diffId));
    assert.equal(new Set(diffIds).size, 1);
    for (const [i, kind] of kinds.entries()) {
      const root = tempDir();
      const applied = await applyFile(join(work, kind), { root });
      assert.equal(applied.diffId, diffIds[i]);
      assert.deepEqual(describeTree(root), describeTree(tree));
    }
    const fast = await exportToFile(join(work, "fast"), { upper: tree, upperKind: "tree", level: 1 });
    const gzip = results[0];
    assert.ok(!fast.empty && gzip !== undefined && !gzip.empty);
    assert.equal(fast.diffId, gzip.diffId);
    assert.notEqual(fast.descriptor.digest, gzip.descriptor.digest);
  });
});
