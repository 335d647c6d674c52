// The state root holds every unpacked image file, setuid binaries and device nodes included: another local
// user must not be able to reach into it, whether polyarch creates it or finds it already there too open.
import assert from "node:assert/strict";
import { chmod, chown, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { run } from "../harness/exec.ts";
import { polyarch } from "../support/cli.ts";
import { attack } from "./support/attack.ts";

const nobody = 65534;
let work: string;
let context: string;

before(async () => {
  // A parent any user may traverse, as ~/.local/share or a shared /srv would be.
  work = await mkdtemp(join(tmpdir(), "polyarch-attack-state-"));
  await chmod(work, 0o755);
  context = join(work, "context");
  await mkdir(join(context, "root"), { recursive: true });
  await writeFile(join(context, "root", "tool"), "#!/bin/sh\n", { mode: 0o4755 });
  await writeFile(join(context, "Dockerfile"), "FROM scratch\nCOPY --chmod=4755 root/tool /tool\n");
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function build(root: string, dest: string) {
  return polyarch(["build", "--progress=plain", "-o", `type=tar,dest=${dest}`, context], {
    env: { POLYARCH_ROOT: root, DOCKER_CONFIG: work },
  });
}

/** Whether the unprivileged user can list a directory inside the state root. */
async function nobodyCanList(dir: string): Promise<boolean> {
  const r = await run("setpriv", [`--reuid=${nobody}`, `--regid=${nobody}`, "--clear-groups", "ls", dir]);
  return r.code === 0;
}

attack("a state root polyarch creates is 0700: other users cannot reach the image files in it", async () => {
  const root = join(work, "fresh", "state");
  const r = await build(root, join(work, "fresh.tar"));
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await stat(root)).mode & 0o777, 0o700);
  assert.equal(await nobodyCanList(join(root, "content", "blobs")), false, "another user read the store");
});

attack("a pre-existing 0755 state root is tightened to 0700 on start, with a note", async () => {
  const root = join(work, "loose");
  await mkdir(root, { mode: 0o755 });
  await chmod(root, 0o755);
  const r = await build(root, join(work, "loose.tar"));
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await stat(root)).mode & 0o777, 0o700);
  assert.match(r.stderr, /state directory .*loose was mode 0755; it is now 0700/);
  assert.equal(await nobodyCanList(join(root, "content", "blobs")), false, "another user read the store");
});

attack("a state root owned by another user is refused before anything is written in it", async () => {
  const root = join(work, "theirs");
  await mkdir(root, { mode: 0o755 });
  await chown(root, nobody, nobody);
  const r = await build(root, join(work, "theirs.tar"));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /state directory .*theirs belongs to uid 65534, not to this user/);
  assert.doesNotMatch(r.stderr, /looks like a bug|at .*\.ts:\d+/);
  assert.deepEqual(await readdir(root), [], "polyarch wrote into a directory it does not own");
  assert.equal((await stat(root)).mode & 0o777, 0o755, "polyarch changed another user's directory");
});
