// A full disk, as a user meets it: the state directory sits on a small filesystem and a build needs more
// than it has. The build must fail with an error that names the directory and says what to do (not "a
// bug"), leave every stored blob whole (partial blobs never become visible), and succeed once there is room.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runOk } from "../harness/exec.ts";
import { pushLargeImage } from "../harness/images.ts";
import { startRegistry } from "../harness/registry.ts";
import { polyarch } from "../support/cli.ts";

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Every blob in the store hashes to its name, and no partial upload is left in ingest/. */
async function assertStoreIntact(stateDir: string): Promise<number> {
  const blobs = join(stateDir, "content", "blobs", "sha256");
  const names = await readdir(blobs);
  for (const name of names) assert.equal(await sha256(join(blobs, name)), name, `blob ${name} is whole`);
  assert.deepEqual(await readdir(join(stateDir, "content", "ingest")), [], "no partial blob left behind");
  return names.length;
}

async function context(dir: string, files: Record<string, Buffer | string>, dockerfile: string) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "Dockerfile"), dockerfile);
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

/** A tmpfs of `size` as a fresh state directory, unmounted (and removed) when `fn` is done. */
async function withSmallStateDir(size: string, fn: (state: string, work: string) => Promise<void>) {
  const work = await mkdtemp(join(tmpdir(), "polyarch-fault-disk-"));
  const state = join(work, "state");
  await mkdir(state, { mode: 0o700 });
  await runOk("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", state]);
  try {
    await fn(state, work);
  } finally {
    await runOk("umount", [state]).catch(() => runOk("umount", ["-l", state]));
    await rm(work, { recursive: true, force: true });
  }
}

/** The CLI's last error and hint lines. */
function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => /^(error|hint): /.test(l));
}

test("fault: a build that fills a 64 MiB state filesystem fails clearly, keeps the store whole, and succeeds with room", async (t) => {
  await withSmallStateDir("64m", async (state, work) => {
    const env = { POLYARCH_ROOT: state };
    // Something stored before the disk fills: it must come through untouched.
    const small = await context(
      join(work, "small"),
      { small: "kept\n" },
      "FROM scratch\nCOPY small /small\n",
    );
    const first = await polyarch(["build", "--output", `type=oci,dest=${join(work, "small.tar")}`, small], {
      env,
    });
    assert.equal(first.code, 0, first.stderr);
    const before = await assertStoreIntact(state);

    // 40 MiB of incompressible bytes: the context copy, the COPY step's layer and its blob need ~120 MiB.
    const big = await context(
      join(work, "big"),
      { big: randomBytes(40 << 20) },
      "FROM scratch\nCOPY small /small\nCOPY big /big\n",
    );
    await writeFile(join(big, "small"), "kept\n");
    const out = join(work, "big.tar");
    const full = await polyarch(["build", "--output", `type=oci,dest=${out}`, big], { env });
    assert.equal(full.code, 1, full.stderr);
    const error = errorLines(full.stderr);
    t.diagnostic(error.join(" / "));
    assert.match(error[0] ?? "", new RegExp(`no space left on device in ${state}`), full.stderr);
    assert.match(error[1] ?? "", /^hint: free space .*POLYARCH_ROOT/, full.stderr);
    assert.doesNotMatch(error.join("\n"), /looks like a bug|ENOSPC/);
    const after = await assertStoreIntact(state);
    assert.ok(after >= before, "nothing that was stored is gone");
    t.diagnostic(`figure: blobs intact after ENOSPC: ${after} of ${after}`);

    // Room again (the same filesystem, grown): the same build in the same state directory now works.
    await runOk("mount", ["-o", "remount,size=256m", state]);
    const again = await polyarch(["build", "--output", `type=oci,dest=${out}`, big], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.ok((await stat(out)).size > 40 << 20, "the image holds the big file");
    await assertStoreIntact(state);
  });
});

test("fault: pulling a base image bigger than the state filesystem names the store's directory", async (t) => {
  await using reg = await startRegistry();
  // 80 MiB of layers for linux/amd64 alone: the download itself fills a 64 MiB store (a write with no path).
  await pushLargeImage(reg, "big/base:1", {
    megabytesPerPlatform: 80,
    layersPerPlatform: 2,
    fileMegabytes: 40,
  });
  await withSmallStateDir("64m", async (state, work) => {
    const ctx = await context(join(work, "ctx"), {}, `FROM ${reg.ref("big/base:1")}\n`);
    const r = await polyarch(
      ["build", "--platform", "linux/amd64", "--output", `type=oci,dest=${join(work, "out.tar")}`, ctx],
      { env: { POLYARCH_ROOT: state, DOCKER_CONFIG: state } },
    );
    assert.equal(r.code, 1, r.stderr);
    const error = errorLines(r.stderr);
    t.diagnostic(error.join(" / "));
    assert.match(
      error[0] ?? "",
      new RegExp(`no space left on device in ${join(state, "content")}`),
      r.stderr,
    );
    assert.match(error[1] ?? "", /^hint: free space .*POLYARCH_ROOT/, r.stderr);
    assert.doesNotMatch(error.join("\n"), /looks like a bug|ENOSPC/);
    await assertStoreIntact(state);
  });
});
