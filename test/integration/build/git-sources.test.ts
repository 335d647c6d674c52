// Git sources through the real CLI against a real git server on loopback (git daemon and git
// http-backend): ADD <git url> with #ref:subdir, --keep-git-dir and --checksum, the commit as cache key.
import assert from "node:assert/strict";
import { existsSync, lstatSync, readFileSync, readlinkSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runOk } from "../../harness/exec.ts";
import { type GitServer, startGitServer } from "../../harness/git-server.ts";
import { polyarch } from "../../support/cli.ts";

let git: GitServer;
let dir: string;
let first: string;
let seq = 0;

const files = {
  "README.md": "hello from git\n",
  "bin/run": { content: "#!/bin/sh\necho run\n", mode: 0o755 as const },
  "sub/inner.txt": "inner\n",
  "sub/link": { link: "inner.txt" },
};

before(async () => {
  git = await startGitServer();
  dir = await mkdtemp(join(tmpdir(), "polyarch-git-sources-"));
  first = await git.createRepo("app", files, { tag: "v1", annotatedTag: "v1-annotated" });
});
after(async () => {
  await git?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function build(dockerfile: string, extra: string[] = [], state = join(dir, "state")) {
  const ctx = join(dir, `ctx-${++seq}`);
  const out = join(dir, `out-${seq}`);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  const r = await polyarch(["build", "--progress=plain", ...extra, "-o", `type=local,dest=${out}`, ctx], {
    env: { POLYARCH_ROOT: state },
  });
  return { ...r, out, output: r.stderr + r.stdout };
}

for (const via of ["http", "git"] as const) {
  test(`ADD of a git URL over ${via}:// checks out the ref's files with git's modes and links`, async () => {
    const url = git.url("app", via);
    const r = await build(`FROM scratch\nADD ${url}#v1 /src/\nADD ${url}#main:sub /only-sub\n`);
    assert.equal(r.code, 0, r.output);
    assert.equal(readFileSync(join(r.out, "src/README.md"), "utf8"), "hello from git\n");
    assert.equal(lstatSync(join(r.out, "src/bin/run")).mode & 0o7777, 0o755);
    assert.equal(lstatSync(join(r.out, "src/README.md")).mode & 0o7777, 0o644);
    assert.equal(readlinkSync(join(r.out, "src/sub/link")), "inner.txt");
    assert.ok(!existsSync(join(r.out, "src/.git")), "no .git without --keep-git-dir");
    assert.equal(readFileSync(join(r.out, "only-sub/inner.txt"), "utf8"), "inner\n");
    assert.ok(!existsSync(join(r.out, "only-sub/README.md")), "only the subdir");
  });
}

test("ADD --keep-git-dir keeps a .git whose HEAD is the commit", async () => {
  const r = await build(
    `FROM scratch\nADD --keep-git-dir=true ${git.url("app", "http")}#v1-annotated /src\n`,
  );
  assert.equal(r.code, 0, r.output);
  assert.ok(existsSync(join(r.out, "src/.git")));
  const head = await runOk("git", ["-C", join(r.out, "src"), "rev-parse", "HEAD"], {
    env: {
      ...process.env,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_CEILING_DIRECTORIES: r.out,
    },
  });
  assert.equal(head.stdout.trim(), first);
});

test("ADD --checksum of a git source: the commit passes, another commit fails naming both", async () => {
  const url = git.url("app", "http");
  const ok = await build(`FROM scratch\nADD --checksum=${first} ${url}#v1 /src\n`);
  assert.equal(ok.code, 0, ok.output);
  const wrong = "0".repeat(40);
  const bad = await build(`FROM scratch\nADD --checksum=${wrong} ${url}#v1 /src\n`);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, new RegExp(`expected checksum to match ${wrong}, got ${first}`));
  assert.match(bad.stderr, /Dockerfile:2/);
});

test("an unknown ref is a clear error naming the repository", async () => {
  const r = await build(`FROM scratch\nADD ${git.url("app", "http")}#no-such-branch /src\n`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /has no branch or tag "no-such-branch"/);
  assert.doesNotMatch(r.stderr, /looks like a bug/);
});

test("the commit is the cache key: the same commit is CACHED, a moved branch is fetched again", async () => {
  await git.createRepo("moving", { "v.txt": "one\n" });
  const url = git.url("moving", "http");
  const state = join(dir, "state-moving");
  const dockerfile = `FROM scratch\nADD ${url}#main /v/\n`;
  const a = await build(dockerfile, [], state);
  assert.equal(a.code, 0, a.output);
  const b = await build(dockerfile, [], state);
  assert.equal(b.code, 0, b.output);
  assert.match(b.output, /CACHED/);
  assert.equal(readFileSync(join(b.out, "v/v.txt"), "utf8"), "one\n");
  await git.commit("moving", { "v.txt": "two\n" });
  const c = await build(dockerfile, [], state);
  assert.equal(c.code, 0, c.output);
  assert.equal(readFileSync(join(c.out, "v/v.txt"), "utf8"), "two\n");
});
