/**
 * Checks against independent implementations (root): umoci unpacks our layers to the tree our applier
 * makes, and our applier unpacks GNU tar's archives as `tar -x` does (and GNU tar unpacks ours).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  linkSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setAttributeSync } from "@napi-rs/xattr";
import { applyFile, exportToFile, tempDir } from "../../unit/worker/layer/helpers.ts";
import { describeTree } from "../../unit/worker/layer/tree.ts";

function has(tool: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const capability = Buffer.from([
  0x01, 0x00, 0x00, 0x02, 0x80, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
]);

/** A tree with every kind of entry tar can hold. */
function richTree(root: string): void {
  mkdirSync(join(root, "bin"));
  writeFileSync(join(root, "bin/busybox"), Buffer.alloc(70_000, 1));
  chmodSync(join(root, "bin/busybox"), 0o4755);
  setAttributeSync(join(root, "bin/busybox"), "security.capability", capability);
  linkSync(join(root, "bin/busybox"), join(root, "bin/sh"));
  symlinkSync("busybox", join(root, "bin/ls"));
  symlinkSync("/nonexistent/target", join(root, "dangling"));
  const deep = join(root, "very", "long".repeat(30), "path".repeat(30));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, `${"n".repeat(120)}.txt`), "long names");
  mkdirSync(join(root, "ünïcødé ✓"));
  writeFileSync(join(root, "ünïcødé ✓/файл"), "non-ascii");
  setAttributeSync(join(root, "ünïcødé ✓/файл"), "user.comment", Buffer.from("hello"));
  mkdirSync(join(root, "dev"));
  execFileSync("mknod", [join(root, "dev/null"), "c", "1", "3"]);
  execFileSync("mkfifo", [join(root, "dev/pipe")]);
  mkdirSync(join(root, "tmp"));
  chmodSync(join(root, "tmp"), 0o1777);
  writeFileSync(join(root, "owned"), "x");
  execFileSync("chown", ["1001:1002", join(root, "owned")]);
  writeFileSync(join(root, "empty"), "");
  const t = 1_650_000_000;
  execFileSync("find", [root, "-exec", "touch", "-h", "-d", `@${t}`, "{}", "+"]);
  utimesSync(root, t, t);
}

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function writeBlob(layout: string, data: Buffer | string): { digest: string; size: number } {
  const bytes = Buffer.from(data);
  const hex = createHash("sha256").update(bytes).digest("hex");
  writeFileSync(join(layout, "blobs/sha256", hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

describe("independent tools agree with our layers (root)", () => {
  it("umoci unpacks our layers (with whiteouts) to the tree our applier makes", {
    skip: !has("umoci") && "umoci not installed",
  }, async () => {
    const base = tempDir();
    richTree(base);
    const upper = join(tempDir(), "upper");
    execFileSync("cp", ["-a", base, upper]);
    execFileSync("rm", ["-rf", join(upper, "very"), join(upper, "empty")]);
    writeFileSync(join(upper, "bin/new"), "added");

    const work = tempDir();
    const layout = join(work, "layout");
    mkdirSync(join(layout, "blobs/sha256"), { recursive: true });
    const layers = [];
    for (const [name, options] of [
      ["l1", { upper: base, upperKind: "tree" as const }],
      ["l2", { lower: base, upper, upperKind: "tree" as const }],
    ] as const) {
      const file = join(work, name);
      const result = await exportToFile(file, options);
      assert.ok(!result.empty);
      const blob = writeBlob(layout, readFileSync(file));
      assert.equal(blob.digest, result.descriptor.digest);
      layers.push({
        descriptor: { mediaType: result.descriptor.mediaType, ...blob },
        diffId: result.diffId,
        file,
      });
    }
    const config = writeBlob(
      layout,
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: {},
        rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      }),
    );
    const manifest = writeBlob(
      layout,
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: layers.map((l) => l.descriptor),
      }),
    );
    writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    writeFileSync(
      join(layout, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            ...manifest,
            annotations: { "org.opencontainers.image.ref.name": "test" },
          },
        ],
      }),
    );
    const bundle = join(work, "bundle");
    execFileSync("umoci", ["unpack", "--image", `${layout}:test`, bundle], { stdio: "pipe" });

    const ours = tempDir();
    for (const layer of layers) await applyFile(layer.file, { root: ours });
    const expected = describeTree(upper);
    assert.equal(expected["bin/busybox"]?.xattrs?.["security.capability"], capability.toString("hex"));
    assert.deepEqual(describeTree(ours), expected);
    assert.deepEqual(describeTree(join(bundle, "rootfs")), expected);
  });

  for (const format of ["posix", "gnu"] as const) {
    it(`applies GNU tar's ${format} archives as tar -x does`, async () => {
      const source = tempDir();
      richTree(source);
      const work = tempDir();
      const archive = join(work, "a.tar");
      const xattrs = format === "posix" ? ["--xattrs", "--xattrs-include=*"] : [];
      execFileSync("tar", ["-cf", archive, `--format=${format}`, ...xattrs, "-C", source, "."]);
      const byTar = tempDir();
      execFileSync("tar", ["-xpf", archive, ...xattrs, "--numeric-owner", "--same-owner", "-C", byTar]);
      const byUs = tempDir();
      await applyFile(archive, { root: byUs });
      const expected = describeTree(byTar);
      assert.ok(Object.keys(expected).some((p) => p.endsWith(`${"n".repeat(120)}.txt`)));
      assert.deepEqual(describeTree(byUs), expected);
    });
  }

  it("writes layers GNU tar unpacks to the same tree as our applier", async () => {
    const source = tempDir();
    richTree(source);
    const work = tempDir();
    const layer = join(work, "layer.tar");
    const result = await exportToFile(layer, { upper: source, upperKind: "tree", compression: "none" });
    assert.ok(!result.empty);
    assert.equal(`sha256:${sha256(layer)}`, result.diffId);
    const byTar = tempDir();
    execFileSync("tar", [
      "-xpf",
      layer,
      "--xattrs",
      "--xattrs-include=*",
      "--numeric-owner",
      "--same-owner",
      "-C",
      byTar,
    ]);
    const byUs = tempDir();
    await applyFile(layer, { root: byUs });
    assert.deepEqual(describeTree(byTar), describeTree(source));
    assert.deepEqual(describeTree(byUs), describeTree(source));
  });
});
