import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadIgnoreRules, parseIgnoreRules } from "../../../../src/dockerfile/context/ignore-rules.ts";

function excluded(text: string, path: string): boolean {
  return parseIgnoreRules(text).ignores(path);
}

describe(".dockerignore semantics", () => {
  test("a pattern is anchored at the context root and covers what lies under a match", () => {
    assert.equal(excluded("node_modules", "node_modules"), true);
    assert.equal(excluded("node_modules", "node_modules/a/b.js"), true);
    assert.equal(excluded("node_modules", "web/node_modules"), false);
  });

  test("`*` stays in one directory, `**` spans any number (including none)", () => {
    assert.equal(excluded("*.md", "a.md"), true);
    assert.equal(excluded("*.md", "docs/a.md"), false);
    assert.equal(excluded("**/*.md", "a.md"), true);
    assert.equal(excluded("**/*.md", "docs/deep/a.md"), true);
    assert.equal(excluded("a/**/b", "a/b"), true);
    assert.equal(excluded("a/**/b", "a/x/y/b"), true);
    assert.equal(excluded("*/temp*", "somedir/temporary.txt"), true);
    assert.equal(excluded("*/temp*", "temporary.txt"), false);
    assert.equal(excluded("temp?", "tempa"), true);
    assert.equal(excluded("temp?", "temp"), false);
  });

  test("`!` re-includes, and the last matching line wins", () => {
    assert.equal(excluded("*.md\n!README.md", "README.md"), false);
    assert.equal(excluded("*.md\n!README.md", "CHANGES.md"), true);
    assert.equal(excluded("*.md\n!README*.md\nREADME-secret.md", "README-secret.md"), true);
    assert.equal(excluded("*.md\nREADME-secret.md\n!README*.md", "README-secret.md"), false);
    // An exception can reach into an excluded directory (unlike .gitignore).
    assert.equal(excluded("docs\n!docs/keep.md", "docs/keep.md"), false);
    assert.equal(excluded("docs\n!docs/keep.md", "docs/other.md"), true);
    assert.equal(excluded("*\n!src", "src/main.go"), false);
    assert.equal(excluded("*\n!src", "go.mod"), true);
  });

  test("leading and trailing slashes and ./ are cleaned away", () => {
    assert.equal(excluded("/build", "build/out.o"), true);
    assert.equal(excluded("build/", "build/out.o"), true);
    assert.equal(excluded("./build", "build"), true);
    assert.equal(excluded("x/../build", "build"), true);
  });

  test("only a # in the first column starts a comment; blank lines and surrounding spaces do not count", () => {
    assert.equal(excluded("# secret.txt", "secret.txt"), false);
    assert.equal(excluded("# comment", "# comment"), false);
    assert.equal(excluded("  # comment", "# comment"), true);
    assert.equal(excluded("/#notes", "#notes"), true);
    assert.equal(excluded("\n\n   spaced.txt   \n", "spaced.txt"), true);
    assert.equal(parseIgnoreRules("# a\n\n  \nb\r\n").patterns.length, 1);
  });

  test("a UTF-8 byte order mark does not become part of the first pattern", () => {
    assert.equal(excluded("\uFEFFsecret.txt", "secret.txt"), true);
  });

  test("matching is case-sensitive, as in Docker", () => {
    assert.equal(excluded("Secret.txt", "secret.txt"), false);
  });

  test("Dockerfile and .dockerignore can be excluded (BuildKit reads the Dockerfile separately)", () => {
    assert.equal(excluded("Dockerfile\n.dockerignore", "Dockerfile"), true);
    assert.equal(excluded("Dockerfile\n.dockerignore", ".dockerignore"), true);
  });

  test("hasExceptions tells whether an excluded directory may still hold included files", () => {
    assert.equal(parseIgnoreRules("a\nb").hasExceptions, false);
    assert.equal(parseIgnoreRules("a\n!a/b").hasExceptions, true);
  });
});

describe("finding the ignore file", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  async function fixture(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "polyarch-ignore-"));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) {
      await mkdir(join(dir, name, ".."), { recursive: true });
      await writeFile(join(dir, name), text);
    }
    return dir;
  }

  test("the context's .dockerignore applies when the Dockerfile has none", async () => {
    const dir = await fixture({ ".dockerignore": "*.log", Dockerfile: "FROM scratch" });
    const rules = await loadIgnoreRules(dir, join(dir, "Dockerfile"));
    assert.equal(rules.source, join(dir, ".dockerignore"));
    assert.equal(rules.ignores("a.log"), true);
  });

  test("<Dockerfile>.dockerignore next to the Dockerfile wins over the context's file", async () => {
    const dir = await fixture({
      ".dockerignore": "*.log",
      "build/app.Dockerfile": "FROM scratch",
      "build/app.Dockerfile.dockerignore": "*.tmp",
    });
    const rules = await loadIgnoreRules(dir, join(dir, "build/app.Dockerfile"));
    assert.equal(rules.source, join(dir, "build/app.Dockerfile.dockerignore"));
    assert.equal(rules.ignores("a.tmp"), true);
    assert.equal(rules.ignores("a.log"), false);
  });

  test("no ignore file means nothing is excluded; a Dockerfile from stdin uses the context's file", async () => {
    const empty = await fixture({ Dockerfile: "FROM scratch" });
    const none = await loadIgnoreRules(empty, join(empty, "Dockerfile"));
    assert.equal(none.source, undefined);
    assert.equal(none.ignores("anything"), false);
    const withFile = await fixture({ ".dockerignore": "x" });
    assert.equal((await loadIgnoreRules(withFile)).ignores("x"), true);
  });
});
