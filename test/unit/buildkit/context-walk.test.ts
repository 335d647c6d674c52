import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { link, mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isRegularGoMode, toGoFileMode, walkContext } from "../../../src/buildkit/session/context-walk.ts";
import { codec, PacketType, type WirePacket } from "../../../src/buildkit/wire.ts";

async function tree(files: Record<string, string | { link: string }>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-walk-"));
  for (const [name, v] of Object.entries(files)) {
    await mkdir(join(dir, name, ".."), { recursive: true });
    if (typeof v === "string") await writeFile(join(dir, name), v);
    else await symlink(v.link, join(dir, name));
  }
  return dir;
}

test("entries come depth first, names in byte order, parents before children (fsutil's receiver order)", async () => {
  const dir = await tree({ "b/z": "1", "b/a": "2", "a-b": "3", B: "5", "a/x": "6" });
  const paths = (await walkContext(dir, { include: [], exclude: [] })).map((e) => e.stat.path);
  assert.deepEqual(paths, ["B", "a", "a/x", "a-b", "b", "b/a", "b/z"]);
});

test("exclude rules (.dockerignore) drop files and whole directories; ! brings one back", async () => {
  const dir = await tree({
    "keep.txt": "k",
    "node_modules/x/y.js": "n",
    "logs/a.log": "a",
    "logs/keep.log": "b",
  });
  const paths = (
    await walkContext(dir, { include: [], exclude: ["node_modules", "logs/*.log", "!logs/keep.log"] })
  ).map((e) => e.stat.path);
  assert.deepEqual(paths, ["keep.txt", "logs", "logs/keep.log"]);
});

test("follow paths select what the frontend needs, with the targets of symlinks inside the root only", async () => {
  const dir = await tree({
    "Dockerfile.real": "FROM scratch",
    Dockerfile: { link: "Dockerfile.real" },
    "src/app.c": "c",
    "other.txt": "o",
    out: { link: "/etc/passwd" },
  });
  const paths = (await walkContext(dir, { include: [], exclude: [], follow: ["Dockerfile", "out"] })).map(
    (e) => e.stat.path,
  );
  assert.deepEqual(paths, ["Dockerfile", "Dockerfile.real", "out"]);
  const srcOnly = (await walkContext(dir, { include: ["src"], exclude: [] })).map((e) => e.stat.path);
  assert.deepEqual(srcOnly, ["src", "src/app.c"]);
});

test("modes go on the wire as Go's os.FileMode, symlinks with their target and no data", async () => {
  assert.equal(toGoFileMode(0o100644), 0o644);
  assert.equal(toGoFileMode(0o040755), (0o755 | (1 << 31)) >>> 0);
  assert.equal(toGoFileMode(0o120777), 0o777 | (1 << 27));
  assert.equal(toGoFileMode(0o104755), 0o755 | (1 << 23));
  assert.ok(isRegularGoMode(0o644) && !isRegularGoMode(toGoFileMode(0o040755)));
  const dir = await tree({ link: { link: "target" }, target: "t" });
  const [link] = await walkContext(dir, { include: [], exclude: [] });
  assert.equal(link!.stat.linkname, "target");
  assert.ok(!isRegularGoMode(link!.stat.mode));
  // The stat packet's bytes: what fsutil's receiver decodes (field numbers of types/wire.proto).
  const packet = codec<WirePacket>("Packet").encode({
    type: PacketType.STAT,
    stat: link!.stat,
    id: 0,
    data: Buffer.alloc(0),
  });
  const back = codec<WirePacket>("Packet").decode(packet);
  assert.equal(back.stat?.path, "link");
  assert.equal(back.stat?.linkname, "target");
  assert.equal(packet[0], 0x12, "stat is field 2, length-delimited (type 0 is omitted)");
});

test("a second path of an inode goes as a hard link naming the first, with no data of its own", async () => {
  const dir = await tree({ "a.bin": "shared bytes", "z.txt": "z" });
  await link(join(dir, "a.bin"), join(dir, "b.bin"));
  const entries = await walkContext(dir, { include: [], exclude: [] });
  const b = entries.find((e) => e.stat.path === "b.bin")!;
  assert.equal(b.stat.linkname, "a.bin");
  assert.equal(b.stat.size, 0);
  assert.equal(entries.find((e) => e.stat.path === "a.bin")!.stat.linkname, "");
});

test("a file's capability travels in its stat, as fsutil sends it", async (t) => {
  const dir = await tree({ tool: "#!/bin/sh\n" });
  const r = spawnSync("setcap", ["cap_net_bind_service=+ep", join(dir, "tool")]);
  if (r.status !== 0) return t.skip("setcap is not available here");
  const [tool] = await walkContext(dir, { include: [], exclude: [] });
  assert.ok(tool!.stat.xattrs["security.capability"]?.length, JSON.stringify(tool!.stat.xattrs));
});
