import assert from "node:assert/strict";
import {
  chmodSync,
  linkSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { getAttributeSync, setAttributeSync } from "@napi-rs/xattr";
import { isUserError } from "../../../../src/errors/user-error.ts";
import { copyOf, fixedTime, fixture } from "./helpers.ts";

const read = (p: string) => readFileSync(p, "utf8");
const list = (p: string) => readdirSync(p).sort();

describe("COPY of files", () => {
  it("copies a file to a new name, and into a directory when the destination ends in a slash", async () => {
    const f = fixture({ "a.txt": "A" });
    await f.run([copyOf("/a.txt", "/b.txt"), copyOf("/a.txt", "/dir/sub/")]);
    assert.equal(read(join(f.dest, "b.txt")), "A");
    assert.equal(read(join(f.dest, "dir/sub/a.txt")), "A");
    assert.equal(statSync(join(f.dest, "dir/sub")).mode & 0o777, 0o755);
  });

  it("copies a file into an existing directory even without the slash", async () => {
    const f = fixture({ "a.txt": "A" }, { app: { dir: true } });
    await f.run(copyOf("/a.txt", "/app"));
    assert.equal(read(join(f.dest, "app/a.txt")), "A");
  });

  it("replaces an existing file, and a symlink without writing through it", async () => {
    const f = fixture(
      { "a.txt": "new" },
      { "old.txt": "old", "target.txt": "keep", "link.txt": { link: "target.txt" } },
    );
    await f.run([copyOf("/a.txt", "/old.txt"), copyOf("/a.txt", "/app/"), copyOf("/a.txt", "/link.txt")]);
    assert.equal(read(join(f.dest, "old.txt")), "new");
    // A symlink destination without a slash is resolved (as BuildKit's RootPath does): the target is replaced.
    assert.equal(read(join(f.dest, "target.txt")), "new");
  });

  it("keeps the source's mtime and permission bits", async () => {
    const f = fixture({ "bin/tool": "#!/bin/sh\n" });
    const { chmodSync } = await import("node:fs");
    chmodSync(join(f.src, "bin/tool"), 0o750);
    await f.run(copyOf("/bin/tool", "/usr/local/bin/tool"));
    const st = statSync(join(f.dest, "usr/local/bin/tool"));
    assert.equal(st.mode & 0o7777, 0o750);
    assert.equal(Math.floor(st.mtimeMs / 1000), fixedTime);
  });

  it("keeps extended attributes", async () => {
    const f = fixture({ "cap.bin": "x" });
    setAttributeSync(join(f.src, "cap.bin"), "user.polyarch.test", Buffer.from("value"));
    await f.run(copyOf("/cap.bin", "/out/"));
    assert.equal(getAttributeSync(join(f.dest, "out/cap.bin"), "user.polyarch.test")?.toString(), "value");
  });
});

describe("COPY of directories", () => {
  const tree = {
    src: { dir: true },
    "src/sub": { dir: true },
    "src/a.txt": "A",
    "src/sub/b.txt": "B",
    "src/link": { link: "a.txt" },
  } as const;

  it("copies a directory's contents, not the directory, to a new path", async () => {
    const f = fixture(tree);
    await f.run(copyOf("/src", "/app"));
    assert.deepEqual(list(join(f.dest, "app")), ["a.txt", "link", "sub"]);
    assert.equal(read(join(f.dest, "app/sub/b.txt")), "B");
  });

  it("merges the contents into an existing directory", async () => {
    const f = fixture(tree, { "app/old.txt": "old", "app/sub/c.txt": "C" });
    await f.run(copyOf("/src/", "/app/"));
    assert.deepEqual(list(join(f.dest, "app")), ["a.txt", "link", "old.txt", "sub"]);
    assert.deepEqual(list(join(f.dest, "app/sub")), ["b.txt", "c.txt"]);
  });

  it("copies the directory itself when copyDirContents is off", async () => {
    const f = fixture(tree, { app: { dir: true } });
    await f.run(copyOf("/src", "/app", { copyDirContents: false }));
    assert.deepEqual(list(join(f.dest, "app")), ["src"]);
    assert.equal(read(join(f.dest, "app/src/a.txt")), "A");
  });

  it("copies symlinks inside a tree as symlinks, and follows the source path's own link", async () => {
    const f = fixture({ ...tree, current: { link: "src" }, "file-link": { link: "src/a.txt" } });
    await f.run([copyOf("/current", "/app"), copyOf("/file-link", "/f.txt")]);
    assert.ok(lstatSync(join(f.dest, "app/link")).isSymbolicLink());
    assert.equal(readlinkSync(join(f.dest, "app/link")), "a.txt");
    assert.equal(read(join(f.dest, "app/sub/b.txt")), "B");
    assert.ok(lstatSync(join(f.dest, "f.txt")).isFile());
    assert.equal(read(join(f.dest, "f.txt")), "A");
  });

  it("copies the link itself when followSymlinks is off", async () => {
    const f = fixture({ "file-link": { link: "a.txt" }, "a.txt": "A" });
    await f.run(copyOf("/file-link", "/l", { followSymlinks: false }));
    assert.equal(readlinkSync(join(f.dest, "l")), "a.txt");
  });

  it("keeps hard links within one copy as hard links", async () => {
    const f = fixture({ "d/one": "same" });
    linkSync(join(f.src, "d/one"), join(f.src, "d/two"));
    await f.run(copyOf("/d", "/out"));
    const one = statSync(join(f.dest, "out/one"));
    const two = statSync(join(f.dest, "out/two"));
    assert.equal(one.ino, two.ino);
    assert.equal(one.nlink, 2);
    // Not linked back to the source.
    assert.notEqual(one.ino, statSync(join(f.src, "d/one")).ino);
  });

  it("copies a tree of more files than are copied at once: contents, modes, times and links all kept", async () => {
    // Copies run concurrently (a few per copier); each directory's time is set after its files are written,
    // and a second link waits for its first link's copy, wherever in the tree it is.
    const spec: Record<string, string> = {};
    for (let d = 0; d < 3; d++)
      for (let i = 0; i < 40; i++) spec[`big/d${d}/f${i}`] = `${d}/${i} `.repeat(i * 500 + 1);
    const f = fixture(spec);
    chmodSync(join(f.src, "big/d1/f7"), 0o751);
    utimesSync(join(f.src, "big/d1/f7"), fixedTime, fixedTime);
    linkSync(join(f.src, "big/d0/f39"), join(f.src, "big/d2/z-link"));
    linkSync(join(f.src, "big/d1/f0"), join(f.src, "big/d1/f00"));
    for (const d of ["big/d0", "big/d1", "big/d2", "big"]) utimesSync(join(f.src, d), fixedTime, fixedTime);
    await f.run(copyOf("/big", "/out"));
    for (const [path, content] of Object.entries(spec)) {
      const out = join(f.dest, path.replace(/^big/, "out"));
      assert.equal(read(out), content, path);
      assert.equal(Math.floor(statSync(out).mtimeMs / 1000), fixedTime, path);
    }
    assert.equal(statSync(join(f.dest, "out/d1/f7")).mode & 0o7777, 0o751);
    assert.equal(statSync(join(f.dest, "out/d2/z-link")).ino, statSync(join(f.dest, "out/d0/f39")).ino);
    assert.equal(statSync(join(f.dest, "out/d1/f00")).ino, statSync(join(f.dest, "out/d1/f0")).ino);
    for (const d of ["out", "out/d0", "out/d1", "out/d2"]) {
      assert.equal(Math.floor(statSync(join(f.dest, d)).mtimeMs / 1000), fixedTime, d);
    }
  });

  it("keeps directory mtimes from the source, also for directories written into", async () => {
    const f = fixture(tree);
    await f.run(copyOf("/src", "/app"));
    assert.equal(Math.floor(statSync(join(f.dest, "app/sub")).mtimeMs / 1000), fixedTime);
    assert.equal(Math.floor(statSync(join(f.dest, "app")).mtimeMs / 1000), fixedTime);
  });

  it("refuses to copy a directory over a file or through a symlink, as cp -a does", async () => {
    const f = fixture({ "src/etc/conf": "x" }, { "app/etc": "a file", "real/etc": { dir: true } });
    await assert.rejects(f.run(copyOf("/src", "/app")), /not a directory/);
    const g = fixture(
      { "src/etc/conf": "x" },
      { "real/etc": { dir: true }, "app/etc": { link: "/real/etc" } },
    );
    await assert.rejects(
      g.run(copyOf("/src", "/app")),
      (e) => isUserError(e) && /symlink/.test(e.hint ?? ""),
    );
  });

  it("refuses to replace a directory with a file", async () => {
    const f = fixture({ "src/x": "file" }, { "app/x/inside": "keep" });
    await assert.rejects(f.run(copyOf("/src", "/app")), /cannot replace directory \/app\/x with a file/);
  });
});

describe("COPY with wildcards", () => {
  const files = { "a.txt": "A", "b.txt": "B", "c.md": "C", "d/e.txt": "E", "d/f/g.txt": "G", "[x].txt": "X" };

  it("copies every match, in Go filepath.Match semantics", async () => {
    const f = fixture(files);
    await f.run(copyOf("/*.txt", "/out/"));
    assert.deepEqual(list(join(f.dest, "out")), ["[x].txt", "a.txt", "b.txt"]);
    await f.run(copyOf("/?.md", "/md/"));
    assert.deepEqual(list(join(f.dest, "md")), ["c.md"]);
    await f.run(copyOf("/[ab].txt", "/ab/"));
    assert.deepEqual(list(join(f.dest, "ab")), ["a.txt", "b.txt"]);
    // An escape works where the component has a wildcard; alone, the backslash is part of the name (as in BuildKit).
    await f.run(copyOf("/\\[x]*.txt", "/esc/"));
    assert.deepEqual(list(join(f.dest, "esc")), ["[x].txt"]);
    // `*` never crosses a slash; a pattern in the middle of a path matches directories.
    await f.run(copyOf("/*/*.txt", "/deep/"));
    assert.deepEqual(list(join(f.dest, "deep")), ["e.txt"]);
  });

  it("copies the contents of a matched directory", async () => {
    const f = fixture(files);
    await f.run(copyOf("/d*", "/out/"));
    assert.deepEqual(list(join(f.dest, "out")), ["e.txt", "f"]);
  });

  it("is no error when nothing matches and empty wildcards are allowed, else an error", async () => {
    const f = fixture(files);
    await f.run(copyOf("/*.none", "/out/"));
    assert.deepEqual(list(f.dest), []);
    await assert.rejects(f.run(copyOf("/*.none", "/out/", { allowEmptyWildcard: false })), /matches nothing/);
  });

  it("needs a directory destination for several matches", async () => {
    const f = fixture(files);
    await assert.rejects(f.run(copyOf("/*.txt", "/single")), (e) => {
      assert.ok(isUserError(e));
      assert.match(e.message, /matches more than one file/);
      assert.match(e.hint ?? "", /\/single\//);
      return true;
    });
  });

  it("takes wildcard characters literally when wildcards are not allowed", async () => {
    const f = fixture(files);
    await f.run(copyOf("/[x].txt", "/lit", { allowWildcard: false }));
    assert.equal(read(join(f.dest, "lit")), "X");
  });
});

describe("COPY errors", () => {
  it("names a missing source, where it was looked for, and near matches", async () => {
    const f = fixture({ "config.yaml": "x", "conf/app.yml": "y" });
    await assert.rejects(
      f.run(copyOf("/config.yml", "/x"), {
        where: "Dockerfile:3:1",
        inputNames: [undefined, "the build context"],
      }),
      (e) => {
        assert.ok(isUserError(e));
        assert.equal(e.message, 'Dockerfile:3:1: "/config.yml": not found in the build context');
        assert.match(e.hint ?? "", /did you mean "\/config.yaml"\?/);
        assert.match(e.hint ?? "", /\.dockerignore/);
        return true;
      },
    );
    await assert.rejects(f.run(copyOf("/conf/App.yml", "/x")), (e) => {
      assert.ok(isUserError(e));
      assert.match(e.hint ?? "", /"\/conf\/app.yml"/);
      return true;
    });
  });

  it("says where the instruction is for every error, once: as its location, else in the message", async () => {
    const f = fixture({ "a.txt": "A" }, { blocker: "a file" });
    const location = { file: "Dockerfile", line: 7, column: 1, source: "COPY a.txt /blocker/sub/" };
    const message = "cannot create directory /blocker/sub: /blocker is not a directory";
    await assert.rejects(
      f.run(copyOf("/a.txt", "/blocker/sub/"), { where: "Dockerfile:7:1", location }),
      (e) => {
        assert.ok(isUserError(e));
        assert.equal(e.message, message);
        assert.deepEqual(e.location, location);
        return true;
      },
    );
    await assert.rejects(f.run(copyOf("/a.txt", "/blocker/sub/"), { where: "Dockerfile:7:1" }), (e) => {
      assert.ok(isUserError(e));
      assert.equal(e.message, `Dockerfile:7:1: ${message}`);
      return true;
    });
  });

  it("fails when a required path is missing (COPY --parents)", async () => {
    const f = fixture({ "a/b.txt": "x" });
    await assert.rejects(
      f.run(copyOf("/", "/out/", { includePatterns: ["a/c.txt"], requiredPaths: ["/a/c.txt"] })),
      /"\/a\/c.txt": not found/,
    );
  });

  it("without createDestPath, needs the destination's parent", async () => {
    const f = fixture({ "a.txt": "A" });
    await assert.rejects(
      f.run(copyOf("/a.txt", "/no/such/a.txt", { createDestPath: false })),
      /does not exist/,
    );
    writeFileSync(join(f.dest, "placeholder"), "");
    await f.run(copyOf("/a.txt", "/b.txt", { createDestPath: false }));
    assert.equal(read(join(f.dest, "b.txt")), "A");
  });
});
