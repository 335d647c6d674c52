// Hostile base layers from a registry, through the CLI: each layer is unpacked without anything leaving
// its snapshot, the host's canaries stay as they were, and the build either gives the image the layers
// describe (inside the rootfs) or fails naming the entry.
import assert from "node:assert/strict";
import { existsSync, lstatSync, readFileSync, readlinkSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before } from "node:test";
import { parsePlatform } from "../../src/oci/platform.ts";
import { busyboxBinary } from "../harness/busybox-rootfs.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { attack } from "./support/attack.ts";
import { type AttackWorkspace, attackWorkspace } from "./support/build.ts";
import { pushHostileImage } from "./support/hostile-image.ts";
import type { RawEntry } from "./support/raw-tar.ts";

let reg: TestRegistry;
let ws: AttackWorkspace;
let n = 0;
before(async () => {
  reg = await startRegistry();
  ws = await attackWorkspace();
});
after(async () => {
  await reg?.stop();
  await ws?.[Symbol.asyncDispose]();
});

/** Builds `FROM <hostile image>` plus a file op (so the base is unpacked and the result exported). */
async function buildOn(layers: RawEntry[][], steps = "COPY marker /marker\n") {
  const ref = await pushHostileImage(reg, `hostile/attack-${++n}:1`, layers);
  return ws.build(`FROM ${ref}\n${steps}`, { marker: "marker\n" });
}

function ok(r: { code: number; stderr: string }): void {
  assert.equal(r.code, 0, r.stderr.slice(-3000));
}

attack("base layer: writes through a symlink to a host directory land in the rootfs", async (c) => {
  const r = await buildOn([
    [
      { name: "escape", type: "symlink", linkname: c.tmpDir },
      { name: "escape/pwned", content: "through the link\n" },
      { name: "escape/keep", content: "overwritten\n", mode: 0o6777 },
      { name: "up", type: "symlink", linkname: "/../../../../../.." },
      { name: `up${c.tmpDir}/zero`, content: "climbed\n" },
    ],
  ]);
  ok(r);
  assert.equal(readFileSync(join(r.out, c.tmpDir, "pwned"), "utf8"), "through the link\n");
  assert.equal(readFileSync(join(r.out, c.tmpDir, "zero"), "utf8"), "climbed\n");
});

attack(
  "base layer: a hard link to a symlink to a host file, mode 06777, changes nothing on the host",
  async (c) => {
    const r = await buildOn([
      [
        { name: "s", type: "symlink", linkname: c.etcFile },
        { name: "h", type: "hardlink", linkname: "s", mode: 0o6777, uid: 1234 },
      ],
    ]);
    ok(r);
    assert.equal(readlinkSync(join(r.out, "h")), c.etcFile);
  },
);

attack(
  "base layer: .., PAX path and PAX linkpath overrides that climb out are refused, naming the entry",
  async (c) => {
    for (const [entries, pattern] of [
      [
        [{ name: `../../../../../../..${c.tmpDir}/dotdot`, content: "x\n" }],
        /layer entry ".*dotdot": its name climbs out/,
      ],
      [
        [{ name: "innocent", content: "x\n", pax: { path: `../../../../../..${c.tmpDir}/pax` } }],
        /layer entry ".*\/pax": its name climbs out/,
      ],
      [
        [
          {
            name: "h",
            type: "hardlink",
            linkname: "bin/busybox",
            pax: { linkpath: `../../../../..${c.etcFile}` },
          },
        ],
        /layer entry "h": hard link target .* is outside the layer/,
      ],
    ] as [RawEntry[], RegExp][]) {
      const r = await buildOn([entries]);
      assert.equal(r.code, 1, r.stderr.slice(-3000));
      assert.match(r.stderr, pattern);
    }
  },
);

attack("base layer: absolute names and a PAX linkpath to a host file stay in the rootfs", async (c) => {
  const r = await buildOn([
    [
      { name: `${c.tmpDir}/abs`, content: "absolute\n" },
      { name: "s", type: "symlink", linkname: "innocent", pax: { linkpath: c.etcFile } },
      { name: "s", content: "replaced, not written through\n" },
    ],
  ]);
  ok(r);
  assert.equal(readFileSync(join(r.out, c.tmpDir, "abs"), "utf8"), "absolute\n");
  assert.equal(readFileSync(join(r.out, "s"), "utf8"), "replaced, not written through\n");
});

attack(
  "base layer: whiteouts and opaque markers through a symlink to a host directory delete nothing there",
  async (c) => {
    const r = await buildOn([
      [{ name: "w", type: "symlink", linkname: c.tmpDir }],
      [
        { name: "w/.wh.keep", content: "" },
        { name: "w/.wh.empty", content: "" },
        { name: "w/.wh..wh..opq", content: "" },
        { name: `${c.tmpDir.slice(1)}/.wh.zero`, content: "" },
      ],
    ]);
    ok(r);
    assert.equal(readlinkSync(join(r.out, "w")), c.tmpDir);
  },
);

attack(
  "base layer: a file under a lower layer's bin -> usr/bin (usrmerge) lands in usr/bin; bin stays a link",
  async () => {
    const busybox = await readFile(await busyboxBinary(parsePlatform("linux/amd64")));
    const r = await buildOn(
      [
        [
          { name: "usr/bin/busybox", content: busybox, mode: 0o755 },
          { name: "usr/bin/sh", type: "hardlink", linkname: "usr/bin/busybox", mode: 0o755 },
          { name: "usr/bin/ls", type: "hardlink", linkname: "usr/bin/busybox", mode: 0o755 },
          { name: "bin", type: "symlink", linkname: "usr/bin" },
        ],
        [{ name: "bin/extra", content: "extra\n", mode: 0o755 }],
      ],
      "RUN ls /bin > /seen-bin && ls /usr/bin > /seen-usr-bin\n",
    );
    ok(r);
    assert.equal(readlinkSync(join(r.out, "bin")), "usr/bin");
    assert.equal(readFileSync(join(r.out, "usr/bin/extra"), "utf8"), "extra\n");
    // The fixture's busybox layer has usr/bin/env too.
    const listed = "busybox\nenv\nextra\nls\nsh\n";
    assert.equal(readFileSync(join(r.out, "seen-bin"), "utf8"), listed);
    assert.equal(readFileSync(join(r.out, "seen-usr-bin"), "utf8"), listed);
  },
);

attack(
  "base layer: entries under a lower layer's absolute and .. links to host directories stay in the rootfs",
  async (c) => {
    const r = await buildOn([
      [
        { name: "abs", type: "symlink", linkname: c.tmpDir },
        { name: "up", type: "symlink", linkname: `../../../../../..${c.tmpDir}` },
      ],
      [
        { name: "abs/through-abs", content: "abs\n" },
        { name: "up/through-up", content: "up\n" },
      ],
    ]);
    ok(r);
    assert.equal(readlinkSync(join(r.out, "abs")), c.tmpDir);
    assert.equal(readFileSync(join(r.out, c.tmpDir, "through-abs"), "utf8"), "abs\n");
    assert.equal(readFileSync(join(r.out, c.tmpDir, "through-up"), "utf8"), "up\n");
    assert.equal(lstatSync(join(r.out, "up")).isSymbolicLink(), true);
  },
);

attack(
  "base layer: a char device as /etc/passwd is never opened; COPY --chown by name fails clearly",
  async () => {
    const r = await buildOn(
      [
        [
          { name: "etc/passwd", type: "char", devmajor: 1, devminor: 5 },
          { name: "etc/group", type: "fifo" },
          { name: "dev-null", type: "char", devmajor: 1, devminor: 3, mode: 0o666 },
        ],
      ],
      "COPY --chown=app:app marker /marker\n",
    );
    assert.equal(r.code, 1, r.stderr.slice(-3000));
    assert.match(r.stderr, /unable to find user app: no matching entries in the destination's \/etc\/passwd/);
  },
);

attack("base layer: long names (PAX and GNU) are unpacked as written", async () => {
  const deep = `${"a".repeat(200)}/${"b".repeat(200)}/${"c".repeat(250)}`;
  const gnu = `${"g".repeat(150)}/${"h".repeat(150)}`;
  const r = await buildOn([
    [
      { name: "short-pax", content: "pax name\n", pax: { path: deep } },
      { name: "short-gnu", content: "gnu name\n", gnuLongName: gnu },
    ],
  ]);
  ok(r);
  assert.equal(readFileSync(join(r.out, deep), "utf8"), "pax name\n");
  assert.equal(readFileSync(join(r.out, gnu), "utf8"), "gnu name\n");
});

attack(
  "base layer: a hard link to a file of a lower layer has that file's content and metadata",
  async (c) => {
    const r = await buildOn(
      [
        [
          { name: "data", type: "dir", mode: 0o750 },
          { name: "data/lower.txt", content: "from the lower layer\n", mode: 0o4750, uid: 7, gid: 8 },
          { name: "lib", type: "symlink", linkname: "/data" },
          { name: "outward", type: "symlink", linkname: c.etcFile },
        ],
        [
          { name: "links", type: "dir", mode: 0o711 },
          { name: "links/h1", type: "hardlink", linkname: "data/lower.txt" },
          // The link names a path through a lower layer's symlinked directory.
          { name: "links/h2", type: "hardlink", linkname: "lib/lower.txt" },
          { name: "links/sh", type: "hardlink", linkname: "bin/busybox" },
          // To a lower layer's symlink to a host file: a second name of the link, mode not applied.
          { name: "links/out", type: "hardlink", linkname: "outward", mode: 0o6777 },
          // A later entry of the same layer replaces a deferred link.
          { name: "links/later", type: "hardlink", linkname: "data/lower.txt" },
          { name: "links/later", content: "the layer's own file\n" },
        ],
      ],
      "COPY marker /marker\nRUN /links/sh -c 'cat /links/h1 /links/h2 > /seen'\n",
    );
    ok(r);
    for (const name of ["h1", "h2"]) {
      const st = lstatSync(join(r.out, "links", name));
      assert.equal(readFileSync(join(r.out, "links", name), "utf8"), "from the lower layer\n", name);
      assert.equal(st.mode & 0o7777, 0o4750, name);
      assert.deepEqual([st.uid, st.gid], [7, 8], name);
    }
    assert.equal(lstatSync(join(r.out, "links")).mode & 0o7777, 0o711);
    assert.ok(readFileSync(join(r.out, "links/sh")).equals(readFileSync(join(r.out, "bin/busybox"))));
    assert.equal(readlinkSync(join(r.out, "links/out")), c.etcFile);
    assert.equal(readFileSync(join(r.out, "links/later"), "utf8"), "the layer's own file\n");
    assert.equal(readFileSync(join(r.out, "seen"), "utf8"), "from the lower layer\n".repeat(2));
    assert.ok(existsSync(join(r.out, "data/lower.txt")));
  },
);

attack("base layer: a hard link to a lower name that does not exist fails, naming the entry", async () => {
  const r = await buildOn([[{ name: "h", type: "hardlink", linkname: "no/such/file" }]]);
  assert.equal(r.code, 1, r.stderr.slice(-3000));
  assert.match(
    r.stderr,
    /layer entry "h": hard link target "no\/such\/file" does not exist in this layer or the layers below/,
  );
});

attack(
  "base layer: one layer with a lower hard link, shared by two images, links each to its own lower file",
  async () => {
    const upper: RawEntry[] = [{ name: "h", type: "hardlink", linkname: "data/lower.txt" }];
    const lowerWith = (text: string): RawEntry[] => [
      { name: "data", type: "dir" },
      { name: "data/lower.txt", content: text },
    ];
    // The same upper layer (one diff_id, unpacked once) over two different lower layers.
    const first = await buildOn([lowerWith("first image\n"), upper]);
    const second = await buildOn([lowerWith("second image\n"), upper]);
    ok(first);
    ok(second);
    assert.equal(readFileSync(join(first.out, "h"), "utf8"), "first image\n");
    assert.equal(readFileSync(join(second.out, "h"), "utf8"), "second image\n");
  },
);
