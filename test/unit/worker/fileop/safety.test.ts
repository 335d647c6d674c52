/**
 * Symlinks in the destination or the source that point out of their tree (absolutely, or with "..")
 * never make a read or a write leave it; `..` in a source that climbs out is an error.
 */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isUserError } from "../../../../src/errors/user-error.ts";
import { copyOf, fixture, tempDir } from "./helpers.ts";

/** A directory outside both trees with a secret, and one that must stay empty. */
function outside() {
  const dir = tempDir("polyarch-outside-");
  writeFileSync(join(dir, "secret"), "host secret\n");
  mkdirSync(join(dir, "empty"));
  return dir;
}

describe("destination symlinks", () => {
  it("resolve inside the destination: absolute and climbing links land in it, never outside", async () => {
    const out = outside();
    const f = fixture(
      { "a.txt": "A", "d/b.txt": "B" },
      {
        "abs-dir": { link: join(out, "empty") },
        "up-dir": { link: "../../../../../../../../../../.." },
        etc: { dir: true },
      },
    );
    symlinkSync("/", join(f.dest, "etc/root-link"));
    await f.run([
      copyOf("/a.txt", "/abs-dir/"),
      copyOf("/d", "/up-dir/tmp/d"),
      copyOf("/a.txt", "/etc/root-link/via-root.txt"),
    ]);
    assert.deepEqual(readdirSync(join(out, "empty")), []);
    // The absolute link resolves to the same path inside the destination.
    assert.equal(readFileSync(join(f.dest, out, "empty/a.txt"), "utf8"), "A");
    // ".." stops at the destination's root.
    assert.equal(readFileSync(join(f.dest, "tmp/d/b.txt"), "utf8"), "B");
    assert.equal(readFileSync(join(f.dest, "via-root.txt"), "utf8"), "A");
  });

  it("a link in the destination where a file is written is replaced, not written through", async () => {
    const out = outside();
    const f = fixture({ "d/secret": "from the build" }, { "app/secret": { link: join(out, "secret") } });
    await f.run(copyOf("/d", "/app"));
    assert.equal(readFileSync(join(out, "secret"), "utf8"), "host secret\n");
    assert.equal(readFileSync(join(f.dest, "app/secret"), "utf8"), "from the build");
  });

  it("mkdir, mkfile and rm resolve inside the destination too", async () => {
    const out = outside();
    const f = fixture(
      {},
      { "abs-dir": { link: join(out, "empty") }, "to-secret": { link: join(out, "secret") } },
    );
    await f.run([
      { action: "mkdir", path: "/abs-dir/made", mode: 0o755, makeParents: true },
      { action: "mkfile", path: "/abs-dir/file", mode: 0o644, data: "x" },
      { action: "mkfile", path: "/to-secret", mode: 0o644, data: "overwritten?" },
    ]);
    assert.deepEqual(readdirSync(join(out, "empty")), []);
    assert.equal(readFileSync(join(out, "secret"), "utf8"), "host secret\n");
    assert.ok(existsSync(join(f.dest, out, "empty/made")));
    assert.equal(readFileSync(join(f.dest, out, "secret"), "utf8"), "overwritten?");
    await f.run({ action: "rm", path: "/to-secret", allowNotFound: false, allowWildcard: false });
    assert.ok(existsSync(join(out, "secret")));
    assert.ok(!existsSync(join(f.dest, "to-secret")));
    await f.run({ action: "rm", path: "/abs-dir/made", allowNotFound: false, allowWildcard: true });
    assert.ok(existsSync(join(out, "empty")));
    assert.deepEqual(readdirSync(join(f.dest, out, "empty")), ["file"]);
  });
});

describe("source symlinks", () => {
  it("a source path through a link to outside reads inside the source tree", async () => {
    const out = outside();
    const f = fixture({
      "abs-link": { link: out },
      "up-link": { link: "../../../../../../.." },
      "x/secret": "tree",
    });
    mkdirSync(join(f.src, out), { recursive: true });
    writeFileSync(join(f.src, out, "secret"), "inside the source\n");
    await f.run([copyOf("/abs-link/secret", "/a"), copyOf("/up-link/x/secret", "/b")]);
    assert.equal(readFileSync(join(f.dest, "a"), "utf8"), "inside the source\n");
    assert.equal(readFileSync(join(f.dest, "b"), "utf8"), "tree");
    await assert.rejects(f.run(copyOf("/abs-link/missing", "/c")), /not found/);
  });

  it("a link to outside inside a copied tree is copied as the link, never followed", async () => {
    const out = outside();
    const f = fixture({ "d/escape": { link: join(out, "secret") }, "d/dir-escape": { link: out } });
    await f.run(copyOf("/d", "/app"));
    assert.equal(readlinkSync(join(f.dest, "app/escape")), join(out, "secret"));
    assert.equal(readlinkSync(join(f.dest, "app/dir-escape")), out);
  });

  it("a wildcard whose plain part is a link to outside matches inside the source tree", async () => {
    const out = outside();
    const f = fixture({ lnk: { link: out }, "sub/in.txt": "in" });
    mkdirSync(join(f.src, out), { recursive: true });
    writeFileSync(join(f.src, out, "found.txt"), "inside");
    await f.run(copyOf("/lnk/*.txt", "/w/"));
    assert.deepEqual(readdirSync(join(f.dest, "w")), ["found.txt"]);
  });

  it('a source whose ".." climbs out of its root is a positioned UserError', async () => {
    const f = fixture({ "a.txt": "A" });
    await assert.rejects(
      f.run(copyOf("/../../etc/passwd", "/x"), { where: "Dockerfile:2:1", contextInputs: [1] }),
      (e) => {
        assert.ok(isUserError(e));
        assert.match(e.message, /^Dockerfile:2:1: COPY source \/..\/..\/etc\/passwd is outside the context/);
        return true;
      },
    );
  });
});
