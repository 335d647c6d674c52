import assert from "node:assert/strict";
import { link, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseIgnoreRules } from "../../../../src/dockerfile/context/ignore-rules.ts";
import { listContextFiles, localSourceSelection } from "../../../../src/dockerfile/context/list-files.ts";

describe("listing a context selection", () => {
  let root: string;
  let outside: string;
  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), "polyarch-list-")));
    outside = await realpath(await mkdtemp(join(tmpdir(), "polyarch-outside-")));
    await writeFile(join(outside, "secret"), "do not read");
    const files: Record<string, string> = {
      Dockerfile: "FROM scratch",
      "README.md": "r",
      "NOTES.md": "n",
      "go.mod": "module x",
      "src/main.go": "package main",
      "src/util/strings.go": "package util",
      "docs/guide.md": "g",
      "docs/keep.md": "k",
      "node_modules/a/index.js": "x",
      "b-file": "b",
    };
    for (const [name, text] of Object.entries(files)) {
      await mkdir(join(root, name, ".."), { recursive: true });
      await writeFile(join(root, name), text);
    }
    await symlink(outside, join(root, "escape"));
    await symlink("../../etc/passwd", join(root, "src/up"));
    await link(join(root, "go.mod"), join(root, "go.mod.hard"));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  const paths = async (sel: Parameters<typeof listContextFiles>[0]) =>
    (await listContextFiles(sel)).map((e) => e.path);

  test("everything, depth-first in a stable order, parents before children", async () => {
    assert.deepEqual(await paths({ root }), [
      "Dockerfile",
      "NOTES.md",
      "README.md",
      "b-file",
      "docs",
      "docs/guide.md",
      "docs/keep.md",
      "escape",
      "go.mod",
      "go.mod.hard",
      "node_modules",
      "node_modules/a",
      "node_modules/a/index.js",
      "src",
      "src/main.go",
      "src/up",
      "src/util",
      "src/util/strings.go",
    ]);
  });

  test("symlinks are reported with their target and never followed out of the context", async () => {
    const entries = await listContextFiles({ root });
    const link = entries.find((e) => e.path === "escape");
    assert.equal(link?.type, "symlink");
    assert.equal(link?.linkTarget, outside);
    assert.equal(
      entries.some((e) => e.path.includes("secret")),
      false,
    );
    assert.equal(entries.find((e) => e.path === "src/up")?.linkTarget, "../../etc/passwd");
  });

  test("entries carry what a copy depends on: type, mode, size, owner, and inode for hard links", async () => {
    const entries = await listContextFiles({ root });
    const mod = entries.find((e) => e.path === "go.mod")!;
    const hard = entries.find((e) => e.path === "go.mod.hard")!;
    assert.equal(mod.type, "file");
    assert.equal(mod.size, 8);
    assert.equal(mod.mode & 0o170000, 0o100000);
    assert.equal(typeof mod.uid, "number");
    assert.equal(mod.ino, hard.ino);
    assert.equal(mod.nlink, 2);
    assert.equal(entries.find((e) => e.path === "src")?.type, "dir");
  });

  test(".dockerignore rules exclude files and whole trees", async () => {
    const listed = await paths({ root, exclude: ["node_modules", "*.md", "**/*.go", "escape"] });
    assert.deepEqual(listed, [
      "Dockerfile",
      "b-file",
      "docs",
      "docs/guide.md",
      "docs/keep.md",
      "go.mod",
      "go.mod.hard",
      "src",
      "src/up",
      "src/util",
    ]);
  });

  test("an exception inside an excluded directory brings back the file and its parent", async () => {
    const rules = parseIgnoreRules("docs\n!docs/keep.md\n");
    assert.deepEqual(
      (await paths({ root, exclude: rules })).filter((p) => p.startsWith("docs")),
      ["docs", "docs/keep.md"],
    );
  });

  test("`*` then exceptions keeps only what is named", async () => {
    assert.deepEqual(await paths({ root, exclude: ["*", "!src", "!go.mod"] }), [
      "go.mod",
      "src",
      "src/main.go",
      "src/up",
      "src/util",
      "src/util/strings.go",
    ]);
  });

  test("include patterns select what a COPY uses, with the parents of what they select", async () => {
    assert.deepEqual(await paths({ root, include: ["src/util"] }), [
      "src",
      "src/util",
      "src/util/strings.go",
    ]);
    assert.deepEqual(await paths({ root, include: ["*.md"] }), ["NOTES.md", "README.md"]);
    assert.deepEqual(await paths({ root, include: ["docs/*.md", "go.mod"] }), [
      "docs",
      "docs/guide.md",
      "docs/keep.md",
      "go.mod",
    ]);
    assert.deepEqual(await paths({ root, include: ["**/strings.go"] }), [
      "src",
      "src/util",
      "src/util/strings.go",
    ]);
    assert.deepEqual(await paths({ root, include: ["/./src/../go.mod"] }), ["go.mod"]);
    assert.deepEqual(await paths({ root, include: ["../../go.mod"] }), ["go.mod"]);
    assert.equal((await paths({ root, include: ["."] })).length, 18);
  });

  test("a graph local source maps to a selection: followPaths and includePatterns both narrow", async () => {
    const sel = localSourceSelection(root, {
      type: "local",
      name: "context",
      includePatterns: ["src", "docs"],
      followPaths: ["src/util", "docs/keep.md"],
      excludePatterns: ["docs/keep.md"],
    });
    assert.deepEqual(await paths(sel), ["src", "src/util", "src/util/strings.go"]);
  });

  test("include and exclude combine: excluded files stay out of a selection", async () => {
    assert.deepEqual(await paths({ root, include: ["docs"], exclude: ["docs/guide.md"] }), [
      "docs",
      "docs/keep.md",
    ]);
  });
});
