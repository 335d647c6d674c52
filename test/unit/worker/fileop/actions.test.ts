import assert from "node:assert/strict";
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { copyOf, fixture, isRoot } from "./helpers.ts";

const etc = { "etc/passwd": "app:x:1001:1002::/home/app:/bin/sh\n", "etc/group": "app:x:1002:\n" };
const mode = (p: string) => (lstatSync(p).mode & 0o7777).toString(8);

describe("mkdir", () => {
  it("makes missing parents with the mode and owner, and leaves existing ones alone", async () => {
    const f = fixture({}, { ...etc, existing: { dir: true } });
    await f.run({
      action: "mkdir",
      path: "/existing/a/b",
      mode: 0o750,
      makeParents: true,
      owner: { user: "app" },
    });
    assert.equal(mode(join(f.dest, "existing/a")), "750");
    assert.equal(mode(join(f.dest, "existing/a/b")), "750");
    assert.equal(mode(join(f.dest, "existing")), "755");
    if (isRoot) {
      assert.equal(statSync(join(f.dest, "existing/a/b")).uid, 1001);
      assert.equal(statSync(join(f.dest, "existing")).uid, 0);
    }
  });

  it("without parents, needs the parent and accepts an existing path", async () => {
    const f = fixture({}, { here: { dir: true } });
    await f.run({ action: "mkdir", path: "/here/x", mode: 0o700, makeParents: false });
    assert.equal(mode(join(f.dest, "here/x")), "700");
    await f.run({ action: "mkdir", path: "/here/x", mode: 0o755, makeParents: false });
    assert.equal(mode(join(f.dest, "here/x")), "700");
    await assert.rejects(
      f.run({ action: "mkdir", path: "/no/such", mode: 0o755, makeParents: false }),
      /cannot create directory \/no\/such: \/no does not exist/,
    );
  });

  it("is an error when a file stands in the way", async () => {
    const f = fixture({}, { file: "x" });
    await assert.rejects(
      f.run({ action: "mkdir", path: "/file/sub", mode: 0o755, makeParents: true }),
      /\/file is not a directory/,
    );
  });
});

describe("mkfile", () => {
  it("writes the text with the mode and owner, replacing what was there", async () => {
    const f = fixture(
      {},
      { ...etc, "old.sh": "old", "link.sh": { link: "target.sh" }, "target.sh": "target" },
    );
    await f.run([
      {
        action: "mkfile",
        path: "/new.sh",
        mode: 0o755,
        data: "#!/bin/sh\necho hi\n",
        owner: { user: "app" },
      },
      { action: "mkfile", path: "/old.sh", mode: 0o600, data: "new" },
    ]);
    assert.equal(readFileSync(join(f.dest, "new.sh"), "utf8"), "#!/bin/sh\necho hi\n");
    assert.equal(mode(join(f.dest, "new.sh")), "755");
    if (isRoot)
      assert.equal(
        `${statSync(join(f.dest, "new.sh")).uid}:${statSync(join(f.dest, "new.sh")).gid}`,
        "1001:1002",
      );
    assert.equal(readFileSync(join(f.dest, "old.sh"), "utf8"), "new");
    assert.equal(mode(join(f.dest, "old.sh")), "600");
  });

  it("needs its parent directory, and refuses a directory in the way", async () => {
    const f = fixture({}, { dir: { dir: true } });
    await assert.rejects(
      f.run({ action: "mkfile", path: "/no/file", mode: 0o644, data: "" }),
      /\/no does not exist/,
    );
    await assert.rejects(
      f.run({ action: "mkfile", path: "/dir", mode: 0o644, data: "" }),
      /a directory is in the way/,
    );
  });

  it("produces what a here-document COPY copies", async () => {
    const f = fixture();
    await f.run({ action: "mkfile", path: "/script", mode: 0o644, data: "echo one\n" });
    // The planner makes the here-document in a scratch tree (input 1 here) and copies it over.
    await f.run(copyOf("/script", "/usr/bin/", { input: 0, allowWildcard: false, copyDirContents: false }));
    assert.equal(readFileSync(join(f.dest, "usr/bin/script"), "utf8"), "echo one\n");
  });
});

describe("rm", () => {
  it("removes files and trees; a missing path is an error unless allowed", async () => {
    const f = fixture({}, { "a/b/c": "x", d: "y" });
    await f.run({ action: "rm", path: "/a", allowNotFound: false, allowWildcard: false });
    assert.ok(!existsSync(join(f.dest, "a")));
    await assert.rejects(
      f.run({ action: "rm", path: "/a", allowNotFound: false, allowWildcard: false }),
      /cannot remove \/a: it does not exist/,
    );
    await f.run({ action: "rm", path: "/a", allowNotFound: true, allowWildcard: false });
    assert.ok(existsSync(join(f.dest, "d")));
  });

  it("removes what a wildcard matches, and a link rather than its target", async () => {
    const f = fixture({}, { "x.log": "", "y.log": "", "keep.txt": "", link: { link: "keep.txt" } });
    await f.run([
      { action: "rm", path: "/*.log", allowNotFound: false, allowWildcard: true },
      { action: "rm", path: "/link", allowNotFound: false, allowWildcard: false },
    ]);
    assert.ok(!existsSync(join(f.dest, "x.log")) && !existsSync(join(f.dest, "y.log")));
    assert.ok(existsSync(join(f.dest, "keep.txt")));
    assert.throws(() => readlinkSync(join(f.dest, "link")));
  });

  it("refuses to remove the root", async () => {
    const f = fixture();
    await assert.rejects(
      f.run({ action: "rm", path: "/", allowNotFound: true, allowWildcard: false }),
      /root directory/,
    );
  });
});
