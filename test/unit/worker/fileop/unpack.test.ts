import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import zlib from "node:zlib";
import { isUserError } from "../../../../src/errors/user-error.ts";
import { type TarSpec, tarOf } from "../layer/helpers.ts";
import { copyOf, fixture, isRoot, tempDir } from "./helpers.ts";

function has(tool: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const entries: TarSpec[] = [
  { name: "pkg/", type: "directory", mode: 0o750 },
  { name: "pkg/bin/tool", content: "#!/bin/sh\n", mode: 0o755 },
  { name: "pkg/README", content: "read me\n" },
  { name: "pkg/link", type: "symlink", linkname: "README" },
  { name: "pkg/hard", type: "link", linkname: "pkg/README" },
  { name: "pkg/.wh.not-a-whiteout", content: "plain file\n" },
];

/** An ADD of `name` (written with `data` into the source tree) to `dest`. */
async function add(name: string, data: Buffer, dest = "/opt/", extra = {}) {
  const f = fixture();
  writeFileSync(join(f.src, name), data);
  await f.run(copyOf(`/${name}`, dest, { attemptUnpack: true, ...extra }));
  return f;
}

function checkExtracted(root: string): void {
  assert.equal(readFileSync(join(root, "pkg/bin/tool"), "utf8"), "#!/bin/sh\n");
  assert.equal(statSync(join(root, "pkg/bin/tool")).mode & 0o7777, 0o755);
  assert.equal(statSync(join(root, "pkg")).mode & 0o7777, 0o750);
  assert.equal(readlinkSync(join(root, "pkg/link")), "README");
  assert.equal(statSync(join(root, "pkg/hard")).ino, statSync(join(root, "pkg/README")).ino);
  assert.equal(readFileSync(join(root, "pkg/.wh.not-a-whiteout"), "utf8"), "plain file\n");
  assert.equal(Math.floor(statSync(join(root, "pkg/README")).mtimeMs / 1000), 1_700_000_000);
  assert.equal(Math.floor(statSync(join(root, "pkg")).mtimeMs / 1000), 1_700_000_000);
}

describe("ADD of a local archive", () => {
  it("extracts a plain tar, a gzip and a zstd one into the destination directory", async () => {
    const tar = await tarOf(entries);
    for (const [name, data] of [
      ["app.tar", tar],
      ["app.tar.gz", zlib.gzipSync(tar)],
      ["app.tar.zst", zlib.zstdCompressSync(tar)],
    ] as const) {
      const f = await add(name, data);
      checkExtracted(join(f.dest, "opt"));
      assert.ok(!existsSync(join(f.dest, "opt", name)), name);
    }
  });

  for (const [tool, ext] of [
    ["xz", "xz"],
    ["bzip2", "bz2"],
  ] as const) {
    it(`extracts a ${tool} tar`, { skip: !has(tool) && `${tool} is not installed` }, async () => {
      const dir = tempDir();
      writeFileSync(join(dir, "in.tar"), await tarOf(entries));
      execFileSync("sh", ["-c", `${tool} -c < in.tar > out`], { cwd: dir });
      const f = await add(`app.tar.${ext}`, readFileSync(join(dir, "out")));
      checkExtracted(join(f.dest, "opt"));
    });
  }

  it("extracts into a destination without a slash too (as Docker does)", async () => {
    const f = await add("app.tar", await tarOf(entries), "/srv/app.tar");
    assert.ok(statSync(join(f.dest, "srv/app.tar")).isDirectory());
    checkExtracted(join(f.dest, "srv/app.tar"));
  });

  it("copies a file that is not a tar as it is, compressed or not", async () => {
    const f = await add("notes.gz", zlib.gzipSync("just text, not a tar"));
    assert.deepEqual(readdirSync(join(f.dest, "opt")), ["notes.gz"]);
    const g = await add("empty.tar", Buffer.alloc(1024));
    assert.deepEqual(readdirSync(join(g.dest, "opt")), ["empty.tar"]);
  });

  it("does not extract when unpacking is off (COPY, ADD --unpack=false)", async () => {
    const f = await add("app.tar", await tarOf(entries), "/opt/", { attemptUnpack: false });
    assert.deepEqual(readdirSync(join(f.dest, "opt")), ["app.tar"]);
  });

  it("owns entries as the archive says, or as --chown says", { skip: !isRoot && "needs root" }, async () => {
    const f = await add("app.tar", await tarOf(entries));
    assert.equal(statSync(join(f.dest, "opt/pkg/README")).uid, 0);
    const g = await add("app.tar", await tarOf(entries), "/opt/", { owner: { user: "33", group: "44" } });
    assert.equal(
      `${statSync(join(g.dest, "opt/pkg/README")).uid}:${statSync(join(g.dest, "opt/pkg/README")).gid}`,
      "33:44",
    );
    assert.equal(lstatSync(join(g.dest, "opt/pkg/link")).uid, 33);
    assert.equal(statSync(join(g.dest, "opt")).uid, 33);
  });

  it("keeps absolute names and symlinked directories inside the destination", async () => {
    const out = tempDir("polyarch-outside-");
    const f = await add(
      "evil.tar",
      await tarOf([
        { name: "/etc/passwd", content: "absolute\n" },
        { name: "root", type: "symlink", linkname: "/" },
        { name: "root/via-root", content: "via root\n" },
        { name: "up", type: "symlink", linkname: "../../../../../../.." },
        { name: `up${out}/escaped`, content: "escaped?\n" },
        { name: "host", type: "symlink", linkname: out },
        { name: "host/written", content: "written?\n" },
      ]),
    );
    assert.deepEqual(readdirSync(out), []);
    const opt = join(f.dest, "opt");
    assert.equal(readFileSync(join(opt, "etc/passwd"), "utf8"), "absolute\n");
    assert.equal(readFileSync(join(opt, "via-root"), "utf8"), "via root\n");
    assert.equal(readFileSync(join(opt, out, "escaped"), "utf8"), "escaped?\n");
    assert.equal(readFileSync(join(opt, out, "written"), "utf8"), "written?\n");
    // The destination's own root was not touched either.
    assert.ok(!existsSync(join(f.dest, "etc")));
  });

  it("refuses an entry whose name climbs out, and a hard link to outside", async () => {
    const out = tempDir("polyarch-outside-");
    await assert.rejects(
      add(
        "evil.tar",
        await tarOf([
          { name: "ok", content: "" },
          { name: "../../escape", content: "x" },
        ]),
        "/opt/",
        {},
      ),
      (e) => {
        assert.ok(isUserError(e));
        assert.match(e.message, /archive entry "..\/..\/escape" climbs out of the destination/);
        return true;
      },
    );
    await assert.rejects(
      add("evil.tar", await tarOf([{ name: "h", type: "link", linkname: "../../../etc/passwd" }])),
      /hard link to outside the destination/,
    );
    await assert.rejects(
      add("evil.tar", await tarOf([{ name: "h", type: "link", linkname: "missing" }])),
      /not an earlier file of the archive/,
    );
    assert.deepEqual(readdirSync(out), []);
  });

  it("reports a truncated archive as a UserError naming the ADD", async () => {
    const tar = await tarOf([{ name: "big", content: "x".repeat(5000) }]);
    await assert.rejects(add("cut.tar", tar.subarray(0, 1536)), (e) => {
      assert.ok(isUserError(e));
      assert.match(e.message, /ADD \/cut.tar: archive: unexpected end of data/);
      return true;
    });
  });
});
