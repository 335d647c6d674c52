// -o type=local writes into a directory the user owns, which may already hold their files and links (some
// planted there by an earlier export of a hostile image). Nothing in dest is followed, and the image's
// whiteouts never touch the user's files: only the merged tree of the image is written.
import assert from "node:assert/strict";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import tar from "tar-stream";
import { FixtureLayout } from "../harness/fixture-layout.ts";
import { skopeoPushLayout } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { polyarch, tempStateRoot } from "../support/cli.ts";
import { attack } from "./support/attack.ts";

let work: string;
let shm: string;
let state: Awaited<ReturnType<typeof tempStateRoot>>;
let reg: TestRegistry;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "polyarch-attack-export-"));
  shm = await mkdtemp("/dev/shm/polyarch-attack-export-");
  state = await tempStateRoot();
  reg = await startRegistry();
});
after(async () => {
  await reg?.stop();
  await state?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
  if (shm) await rm(shm, { recursive: true, force: true });
});

const env = () => ({ POLYARCH_ROOT: state.dir, DOCKER_CONFIG: state.dir, ...reg.env() });

async function build(context: string, args: string[]): Promise<void> {
  const r = await polyarch(["build", "--progress=plain", ...args, context], { env: env() });
  assert.equal(r.code, 0, `build failed:\n${r.stderr}`);
}

// dest on the state root's file system (the tree is moved in by rename) and on another one (tmpfs: written).
const destParents = [
  ["beside the state root", () => work],
  ["on another file system", () => shm],
] as const;

for (const [where, parent] of destParents) {
  attack(
    `a root symlink planted in dest by a first export does not steer a multi-platform export (${where})`,
    async (c) => {
      const dest = join(parent(), "planted");
      await mkdir(dest);
      await writeFile(join(dest, "user-file"), "mine\n");

      // First image: its root holds `linux_arm64 -> <host dir>` (the name the next export's arm64 tree gets).
      const first = join(parent(), "first");
      await mkdir(join(first, "root"), { recursive: true });
      await symlink(c.tmpDir, join(first, "root", "linux_arm64"));
      await writeFile(join(first, "Dockerfile"), "FROM scratch\nCOPY root/ /\n");
      await build(first, ["-o", `type=local,dest=${dest}`]);
      assert.equal(
        await readlink(join(dest, "linux_arm64")),
        c.tmpDir,
        "the first export wrote the image's link",
      );

      // Second build, two platforms, same dest: names that would overwrite the canary directory's files.
      const second = join(parent(), "second");
      await mkdir(join(second, "root", "empty"), { recursive: true });
      await writeFile(join(second, "root", "keep"), "overwritten\n");
      await writeFile(join(second, "root", "planted"), "new file\n");
      await writeFile(join(second, "root", "empty", "x"), "x\n");
      await writeFile(join(second, "Dockerfile"), "FROM scratch\nCOPY root/ /\n");
      await build(second, ["--platform", "linux/amd64,linux/arm64", "-o", `type=local,dest=${dest}`]);

      // The link was replaced by the arm64 tree, as BuildKit's local exporter replaces what is in the way.
      for (const sub of ["linux_amd64", "linux_arm64"]) {
        assert.ok((await lstat(join(dest, sub))).isDirectory(), `${sub} is a real directory`);
        assert.equal(await readFile(join(dest, sub, "keep"), "utf8"), "overwritten\n");
        assert.equal(await readFile(join(dest, sub, "empty", "x"), "utf8"), "x\n");
      }
      assert.equal(await readFile(join(dest, "user-file"), "utf8"), "mine\n", "the user's file survives");
    },
  );
}

for (const [where, parent] of destParents) {
  attack(
    `the statements written beside the files replace an image's provenance.json link, never follow it (${where})`,
    async (c) => {
      // The image's own provenance.json and sbom.spdx.json are links to host files; so is one the user's dest holds.
      const context = join(parent(), "attest-links");
      await mkdir(join(context, "root"), { recursive: true });
      await symlink(join(c.tmpDir, "keep"), join(context, "root", "provenance.json"));
      await symlink(join(c.tmpDir, "zero"), join(context, "root", "sbom.spdx.json"));
      await writeFile(join(context, "root", "file"), "data\n");
      await writeFile(join(context, "Dockerfile"), "FROM scratch\nCOPY root/ /\n");
      const dest = join(parent(), "attest-dest");
      await mkdir(join(dest, "linux_arm64"), { recursive: true });
      await symlink(join(c.tmpDir, "keep"), join(dest, "linux_arm64", "provenance.json"));
      await build(context, [
        "--platform",
        "linux/amd64,linux/arm64",
        "--provenance=mode=min",
        "--sbom=true",
        "-o",
        `type=local,dest=${dest}`,
      ]);
      for (const sub of ["linux_amd64", "linux_arm64"]) {
        for (const name of ["provenance.json", "sbom.spdx.json"]) {
          const s = await lstat(join(dest, sub, name));
          assert.ok(s.isFile(), `${sub}/${name} is a file of its own`);
          assert.equal(s.mode & 0o777, 0o600);
          const statement = JSON.parse(await readFile(join(dest, sub, name), "utf8"));
          // Only the regular file is a subject: the links are neither followed nor hashed.
          assert.deepEqual(
            statement.subject.map((x: { name: string }) => x.name),
            ["file"],
          );
        }
      }
    },
  );
}

/** An image whose second layer whites out a file and makes a directory opaque. */
async function pushWhiteoutImage(): Promise<string> {
  const dir = join(work, "whiteout-layout");
  const layout = await new FixtureLayout(dir).init();
  const lower = await layout.writeLayer([
    { path: "d", type: "directory", mode: 0o755 },
    { path: "d/lower", type: "file", mode: 0o644, content: Buffer.from("lower\n") },
    { path: "keep-me", type: "file", mode: 0o644, content: Buffer.from("image\n") },
  ]);
  const upper = await layout.writeLayer([
    { path: ".wh.keep-me", type: "file", mode: 0o644, content: Buffer.alloc(0) },
    { path: "d", type: "directory", mode: 0o755 },
    { path: "d/.wh..wh..opq", type: "file", mode: 0o644, content: Buffer.alloc(0) },
    { path: "d/upper", type: "file", mode: 0o644, content: Buffer.from("upper\n") },
  ]);
  const { manifest } = await layout.writeImage({ os: "linux", architecture: "amd64" }, [
    { ...lower, createdBy: "lower" },
    { ...upper, createdBy: "upper" },
  ]);
  layout.tag("image", manifest);
  await layout.finish();
  return (await skopeoPushLayout(dir, "image", reg, "attack/whiteouts:1")).ref;
}

let whiteoutImage: Promise<string> | undefined;

for (const [where, parent] of destParents) {
  attack(
    `an export into an existing directory applies no whiteout to the user's files (local and tar, ${where})`,
    async (c) => {
      whiteoutImage ??= pushWhiteoutImage();
      const ref = await whiteoutImage;
      const context = join(parent(), "whiteouts");
      await mkdir(context);
      await writeFile(join(context, "Dockerfile"), `FROM ${ref}\n`);

      const dest = join(parent(), "user-dir");
      await mkdir(join(dest, "d"), { recursive: true });
      await writeFile(join(dest, "keep-me"), "mine\n");
      await writeFile(join(dest, "d", "mine"), "mine\n");
      await symlink(c.tmpDir, join(dest, "elsewhere"));
      await build(context, ["--platform", "linux/amd64", "-o", `type=local,dest=${dest}`]);

      assert.equal(
        await readFile(join(dest, "keep-me"), "utf8"),
        "mine\n",
        "a whiteout deleted the user's file",
      );
      assert.equal(await readFile(join(dest, "d", "mine"), "utf8"), "mine\n", "an opaque marker emptied d/");
      assert.equal(await readFile(join(dest, "d", "upper"), "utf8"), "upper\n");
      assert.deepEqual((await readdir(join(dest, "d"))).sort(), ["mine", "upper"], "d/lower was whited out");
      assert.equal(
        await readlink(join(dest, "elsewhere")),
        c.tmpDir,
        "a link the image does not name is kept",
      );

      // type=tar streams the same merged tree: no whiteout entries, nothing the upper layer removed.
      const out = join(parent(), "rootfs.tar");
      await build(context, ["--platform", "linux/amd64", "-o", `type=tar,dest=${out}`]);
      const names: string[] = [];
      const extract = tar.extract();
      extract.on("entry", (header, stream, next) => {
        names.push(header.name);
        stream.resume();
        stream.on("end", next);
      });
      extract.end(await readFile(out));
      await new Promise<void>((resolve, reject) => extract.on("finish", () => resolve()).on("error", reject));
      assert.deepEqual(names.sort(), ["d/", "d/upper"].sort());
    },
  );
}
