import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { compilePatterns } from "../../../../src/worker/fileop/patterns.ts";
import { copyOf, fixedTime, fixture } from "./helpers.ts";

/** Every path below a directory, sorted ("dir/" for directories). */
function paths(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      const isDir = statSync(abs).isDirectory();
      out.push(relative(root, abs) + (isDir ? "/" : ""));
      if (isDir) walk(abs);
    }
  };
  walk(root);
  return out.sort();
}

const project = {
  "src/main.go": "",
  "src/main_test.go": "",
  "src/util/strings.go": "",
  "src/util/strings_test.go": "",
  "docs/readme.md": "",
  "home.txt": "",
  "homer.md": "",
  "notes.txt": "",
};

describe("COPY --exclude", () => {
  it("leaves out what the patterns match, relative to the copied directory", async () => {
    const f = fixture(project);
    await f.run(copyOf("/src", "/app", { excludePatterns: ["**/*_test.go"] }));
    assert.deepEqual(paths(join(f.dest, "app")), ["main.go", "util/", "util/strings.go"]);
  });

  it("leaves out whole directories, and `!` brings paths back", async () => {
    const f = fixture(project);
    await f.run(copyOf("/", "/app", { excludePatterns: ["src", "!src/util/strings.go", "*.md", "docs"] }));
    assert.deepEqual(paths(join(f.dest, "app")), [
      "home.txt",
      "notes.txt",
      "src/",
      "src/util/",
      "src/util/strings.go",
    ]);
  });

  it("leaves out wildcard matches themselves (the Dockerfile reference's example)", async () => {
    const f = fixture(project);
    await f.run(copyOf("/hom*", "/mydir/", { excludePatterns: ["*.txt"] }));
    assert.deepEqual(paths(join(f.dest, "mydir")), ["homer.md"]);
  });

  it("follows Docker's pattern rules", () => {
    const m = compilePatterns(["*.log", "build/", "!important.log", "**/tmp", "a?c", "[x-z].txt"])!;
    const cases: [string, boolean][] = [
      ["debug.log", true],
      ["important.log", false],
      ["sub/debug.log", false],
      ["build", true],
      ["build/out/bin", true],
      ["tmp", true],
      ["x/y/tmp/file", true],
      ["abc", true],
      ["abbc", false],
      ["y.txt", true],
      ["a.txt", false],
    ];
    for (const [path, want] of cases) assert.equal(m.matches(path), want, path);
  });
});

describe("COPY --parents", () => {
  it("keeps the source's directories for every match, made with their own metadata", async () => {
    const f = fixture({ ...project, src: { dir: true }, "src/util": { dir: true } });
    await f.run(
      copyOf("/", "/app/", { includePatterns: ["src/**/*.go"], excludePatterns: ["**/*_test.go"] }),
    );
    assert.deepEqual(paths(join(f.dest, "app")), ["src/", "src/main.go", "src/util/", "src/util/strings.go"]);
    // Directories made for included children get their source's times after the children are written.
    assert.equal(Math.floor(statSync(join(f.dest, "app/src/util")).mtimeMs / 1000), fixedTime);
  });

  it("starts below a `/./` pivot and checks that a plain path exists", async () => {
    const f = fixture(project);
    await f.run(
      copyOf("/src", "/app/", {
        includePatterns: ["util/strings.go"],
        requiredPaths: ["/src/util/strings.go"],
      }),
    );
    assert.deepEqual(paths(join(f.dest, "app")), ["util/", "util/strings.go"]);
    await assert.rejects(
      f.run(
        copyOf("/src", "/app/", { includePatterns: ["util/nope.go"], requiredPaths: ["/src/util/nope.go"] }),
      ),
      /"\/src\/util\/nope.go": not found/,
    );
  });

  it("copies nothing, and makes no directories, when nothing is included", async () => {
    const f = fixture(project);
    await f.run(copyOf("/", "/app/", { includePatterns: ["nothing/*"] }));
    assert.deepEqual(paths(join(f.dest, "app")), []);
  });
});
