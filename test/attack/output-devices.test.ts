// An output file the user names may be a device or a pipe (`-o type=oci,dest=/dev/null`, a fifo a CI step
// reads): polyarch writes into it as it is. Renaming a finished temp file over it (how regular outputs are
// replaced whole) would turn /dev/null into a regular file for the whole machine, which is what happened
// before: every later `> /dev/null` then wrote into a file.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { polyarch, tempStateRoot } from "../support/cli.ts";
import { attack } from "./support/attack.ts";

let work: string;
let ctx: string;
let state: Awaited<ReturnType<typeof tempStateRoot>>;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "polyarch-output-devices-"));
  state = await tempStateRoot();
  ctx = join(work, "ctx");
  await mkdir(ctx);
  await writeFile(join(ctx, "Dockerfile"), "FROM scratch\nCOPY hello.txt /hello.txt\n");
  await writeFile(join(ctx, "hello.txt"), "hello\n");
});
after(async () => {
  await state?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

const build = (output: string) =>
  polyarch(["build", "--progress", "plain", "-o", output, ctx], { env: { POLYARCH_ROOT: state.dir } });

attack(
  "an output named by a character device (a /dev/null of its own) is written into, never replaced",
  async () => {
    const dev = join(work, "null");
    execFileSync("mknod", ["-m", "666", dev, "c", "1", "3"]);
    for (const output of [`type=oci,dest=${dev}`, `type=docker,dest=${dev}`, `type=tar,dest=${dev}`]) {
      const r = await build(output);
      assert.equal(r.code, 0, `${output}: ${r.stderr}`);
      const st = await lstat(dev);
      assert.ok(st.isCharacterDevice(), `${output} replaced the device with a ${st.isFile() ? "file" : "?"}`);
      assert.equal(st.rdev, (1 << 8) | 3);
    }
    // Nothing left beside it: no temp file of a write that went into the device.
    assert.deepEqual((await readdir(work)).sort(), ["ctx", "null"]);
  },
);

attack("an output named by a fifo streams the archive to its reader", async () => {
  const fifo = join(work, "pipe");
  execFileSync("mkfifo", [fifo]);
  const reader = spawn("tar", ["-tf", fifo], { stdio: ["ignore", "pipe", "pipe"] });
  let listed = "";
  reader.stdout.on("data", (c: Buffer) => (listed += c.toString()));
  const exited = new Promise<number | null>((resolve) => reader.on("close", resolve));
  const r = await build(`type=oci,dest=${fifo}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await exited, 0);
  assert.match(listed, /^index\.json$/m);
  assert.match(listed, /^oci-layout$/m);
  assert.ok((await lstat(fifo)).isFIFO());
});
