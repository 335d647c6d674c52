// ADD of a hostile local archive, through the CLI, in every compression polyarch reads: the host's files
// stay as they were, and the build either makes the image the archive describes (inside the rootfs) or
// fails with an error naming the entry.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before } from "node:test";
import zlib from "node:zlib";
import { attack } from "./support/attack.ts";
import { type AttackWorkspace, attackWorkspace } from "./support/build.ts";
import { type RawEntry, rawTar } from "./support/raw-tar.ts";

let ws: AttackWorkspace;
before(async () => {
  ws = await attackWorkspace();
});
after(() => ws?.[Symbol.asyncDispose]());

function through(tool: string, data: Buffer): Buffer {
  return execFileSync(tool, ["-c"], { input: data });
}

const compressions: [string, (tar: Buffer) => Buffer][] = [
  ["tar", (t) => t],
  ["tar.gz", (t) => zlib.gzipSync(t)],
  ["tar.bz2", (t) => through("bzip2", t)],
  ["tar.xz", (t) => through("xz", t)],
  ["tar.zst", (t) => zlib.zstdCompressSync(t)],
];

function addArchive(entries: RawEntry[], ext = "tar", dest = "/x/") {
  const compress = compressions.find(([e]) => e === ext)![1];
  return ws.build(`FROM scratch\nADD evil.${ext} ${dest}\n`, { [`evil.${ext}`]: compress(rawTar(entries)) });
}

function ok(r: { code: number; stderr: string }): void {
  assert.equal(r.code, 0, r.stderr.slice(-3000));
}

for (const [ext] of compressions) {
  attack(
    `ADD ${ext}: a hard link to a symlink to a host file, mode 06777, leaves the host file alone`,
    async (c) => {
      const r = await addArchive(
        [
          { name: "s", type: "symlink", linkname: c.etcFile },
          { name: "h", type: "hardlink", linkname: "s", mode: 0o6777 },
          { name: "d", type: "symlink", linkname: c.tmpDir },
          { name: "hd", type: "hardlink", linkname: "d", mode: 0o7777 },
        ],
        ext,
      );
      ok(r);
      // The image holds two names of each link; nothing they point at was touched.
      assert.equal(readlinkSync(join(r.out, "x/h")), c.etcFile);
      assert.equal(readlinkSync(join(r.out, "x/hd")), c.tmpDir);
    },
  );

  attack(`ADD ${ext}: a file written through a symlinked directory lands inside the image`, async (c) => {
    const r = await addArchive(
      [
        { name: "d", type: "symlink", linkname: c.tmpDir },
        { name: "d/pwned", content: "through the link\n", mode: 0o4755 },
        { name: "d/keep", content: "overwritten\n" },
        { name: "up", type: "symlink", linkname: "../../../../../../../.." },
        { name: `up${c.tmpDir}/zero`, content: "climbed\n" },
      ],
      ext,
    );
    ok(r);
    // Resolved as if the destination were "/": the link's target is a path inside the destination.
    assert.equal(readFileSync(join(r.out, "x", c.tmpDir, "pwned"), "utf8"), "through the link\n");
    assert.equal(readFileSync(join(r.out, "x", c.tmpDir, "zero"), "utf8"), "climbed\n");
  });
}

attack("ADD: an entry whose name climbs out with .. is refused, naming it", async (c) => {
  const r = await addArchive([{ name: `../../../../../../..${c.tmpDir}/dotdot`, content: "x\n" }]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: .*ADD \/evil\.tar: archive entry ".*dotdot" climbs out/m);
});

attack("ADD: a PAX path that overrides an innocent ustar name and climbs out is refused", async (c) => {
  const r = await addArchive([
    { name: "innocent", content: "x\n", pax: { path: `../../../../../../..${c.tmpDir}/pax` } },
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /archive entry ".*\/pax" climbs out/);
});

attack("ADD: a PAX linkpath to a host file, then a file of the same name, replaces the link", async (c) => {
  const r = await addArchive([
    { name: "s", type: "symlink", linkname: "innocent", pax: { linkpath: c.etcFile } },
    { name: "s", content: "replaced, not written through\n", mode: 0o6755 },
  ]);
  ok(r);
  assert.ok(lstatSync(join(r.out, "x/s")).isFile());
  assert.equal(readFileSync(join(r.out, "x/s"), "utf8"), "replaced, not written through\n");
});

attack(
  "ADD: hard links to host paths (.., absolute, PAX linkpath, GNU long name) are refused or kept inside",
  async (c) => {
    const outside = await addArchive([
      { name: "h", type: "hardlink", linkname: `../../../../..${c.etcFile}` },
    ]);
    assert.equal(outside.code, 1);
    assert.match(outside.stderr, /archive entry "h" is a hard link to outside the destination/);
    const pax = await addArchive([
      { name: "h", type: "hardlink", linkname: "fine", pax: { linkpath: `../../../../..${c.etcFile}` } },
    ]);
    assert.equal(pax.code, 1);
    assert.match(pax.stderr, /hard link to outside the destination/);
    // An absolute link name means the destination's root, where no such file was written.
    const absolute = await addArchive([{ name: "h", type: "hardlink", linkname: c.etcFile }]);
    assert.equal(absolute.code, 1);
    assert.match(absolute.stderr, /which is not an earlier file of the archive/);
    const long = `${"d".repeat(120)}/${"e".repeat(120)}/long`;
    const gnu = await addArchive([
      { name: "ok", content: "long names are read\n" },
      { name: "ignored", type: "hardlink", linkname: "ok", gnuLongName: long },
    ]);
    ok(gnu);
    assert.equal(readFileSync(join(gnu.out, "x", long), "utf8"), "long names are read\n");
  },
);

attack("ADD: absolute names land in the destination, devices and fifos are made there", async (c) => {
  const r = await addArchive([
    { name: `${c.tmpDir}/abs`, content: "absolute\n" },
    { name: "/etc/passwd-like", content: "not the host's\n" },
    { name: "null", type: "char", devmajor: 1, devminor: 3, mode: 0o666 },
    { name: "fifo", type: "fifo" },
  ]);
  ok(r);
  assert.equal(readFileSync(join(r.out, "x", c.tmpDir, "abs"), "utf8"), "absolute\n");
  assert.equal(readFileSync(join(r.out, "x/etc/passwd-like"), "utf8"), "not the host's\n");
  assert.ok(lstatSync(join(r.out, "x/fifo")).isFIFO());
  assert.ok(!existsSync(join(c.tmpDir, "abs")));
  assert.deepEqual(readdirSync(c.tmpDir).sort(), ["empty", "keep", "zero"]);
});
