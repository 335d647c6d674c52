// The query form of git URLs BuildKit v0.24 reads (`repo.git?tag=…&branch=…&subdir=…&commit=…`), through the
// real CLI against a real git server on loopback: in ADD and in --build-context, and its errors.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type GitServer, startGitServer } from "../../harness/git-server.ts";
import { polyarch } from "../../support/cli.ts";

let git: GitServer;
let dir: string;
let tagged: string;
let seq = 0;

before(async () => {
  git = await startGitServer();
  dir = await mkdtemp(join(tmpdir(), "polyarch-git-query-"));
  // A tag and a branch with the same name, on different commits: only the query's tag=/branch= tells them apart.
  tagged = await git.createRepo("app", { "which.txt": "tag\n", "sub/inner.txt": "inner\n" }, { tag: "v1" });
  await git.commit(
    "app",
    { "which.txt": "branch\n", "sub/inner.txt": "inner on branch\n" },
    { branch: "v1" },
  );
  await git.createRepo("withsub", {
    "top.txt": "top\n",
    // A gitlink to a commit the server does not have: checking submodules out fails, leaving them out does not.
    mod: { submodule: git.url("app", "git") },
  });
});
after(async () => {
  await git?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function build(dockerfile: string, extra: string[] = []) {
  const ctx = join(dir, `ctx-${++seq}`);
  const out = join(dir, `out-${seq}`);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  const r = await polyarch(["build", "--progress=plain", ...extra, "-o", `type=local,dest=${out}`, ctx], {
    env: { POLYARCH_ROOT: join(dir, "state") },
  });
  return { ...r, out, output: r.stderr + r.stdout };
}

const read = (root: string, path: string) => readFileSync(join(root, path), "utf8");

test("ADD <git url>?tag= and ?branch= pick the tag or the branch of the same name, ?subdir= a directory", async () => {
  const url = git.url("app", "http");
  const r = await build(
    "FROM scratch\n" +
      `ADD ${url}?tag=v1 /tag/\n` +
      `ADD ${url}?branch=v1 /branch/\n` +
      `ADD ${url}?ref=v1&subdir=sub /sub/\n` +
      `ADD ${git.url("app", "git")}?branch=v1#:sub /branch-sub/\n`,
  );
  assert.equal(r.code, 0, r.output);
  assert.equal(read(r.out, "tag/which.txt"), "tag\n");
  assert.equal(read(r.out, "branch/which.txt"), "branch\n");
  assert.equal(read(r.out, "sub/inner.txt"), "inner\n");
  assert.ok(!existsSync(join(r.out, "sub/which.txt")), "only the subdir");
  assert.equal(read(r.out, "branch-sub/inner.txt"), "inner on branch\n");
});

test("ADD <git url>?commit= pins the commit; another commit fails as --checksum does", async () => {
  const url = git.url("app", "http");
  const ok = await build(`FROM scratch\nADD ${url}?tag=v1&commit=${tagged} /pinned/\n`);
  assert.equal(ok.code, 0, ok.output);
  assert.equal(read(ok.out, "pinned/which.txt"), "tag\n");
  const bad = await build(`FROM scratch\nADD ${url}?branch=v1&checksum=${tagged} /pinned/\n`);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, new RegExp(`expected checksum to match ${tagged}`));
});

test("ADD <git url>?keep-git-dir keeps .git; ?submodules=false leaves submodules out", async () => {
  const r = await build(
    `FROM scratch\nADD ${git.url("app", "http")}?tag=v1&keep-git-dir /kept/\nADD ${git.url("withsub", "http")}?submodules=false /ws/\n`,
  );
  assert.equal(r.code, 0, r.output);
  assert.ok(existsSync(join(r.out, "kept/.git")));
  assert.equal(read(r.out, "ws/top.txt"), "top\n");
  const withSubmodules = await build(`FROM scratch\nADD ${git.url("withsub", "http")} /ws/\n`);
  assert.notEqual(withSubmodules.code, 0, "the submodule's commit does not exist, so checking it out fails");
  assert.match(withSubmodules.stderr, /submodules/);
});

test("a query that conflicts with the #ref:subdir part, or an unknown key, is BuildKit's error at the ADD line", async () => {
  const url = git.url("app", "http");
  const cases: [string, RegExp][] = [
    [`${url}?ref=main#v1`, /ref conflicts: "v1" vs "main"/],
    [`${url}?tag=v1#main`, /ref conflicts: "main" vs "refs\/tags\/v1"/],
    [`${url}?subdir=a#v1:b`, /subdir conflicts: "b" vs "a"/],
    [`${url}?tag=v1&branch=v1`, /branch conflicts with tag/],
    [`${url}?depth=1`, /unexpected query "depth"/],
    [`${url}?ref=`, /query "ref" has no value/],
    [`${url}?ref=a&ref=b`, /query "ref" has multiple values/],
    [`${url}?keep-git-dir=maybe`, /invalid keep-git-dir value: "maybe"/],
  ];
  for (const [source, expected] of cases) {
    const r = await build(`FROM scratch\nADD ${source} /x/\n`);
    assert.notEqual(r.code, 0, source);
    assert.match(r.stderr, expected, source);
    assert.match(r.stderr, /Dockerfile:2/, `${source}: the error names the line`);
  }
  const flags = await build(`FROM scratch\nADD --keep-git-dir=false ${url}?keep-git-dir=true /x/\n`);
  assert.notEqual(flags.code, 0);
  assert.match(flags.stderr, /inconsistent keep-git-dir configuration/);
});

test("--build-context NAME=<git url>?branch=&subdir= is used by COPY --from; a bad query is a clear error", async () => {
  const url = git.url("app", "git");
  const r = await build("FROM scratch\nCOPY --from=lib / /lib/\n", [
    "--build-context",
    `lib=${url}?branch=v1&subdir=sub`,
  ]);
  assert.equal(r.code, 0, r.output);
  assert.equal(read(r.out, "lib/inner.txt"), "inner on branch\n");
  const bad = await build("FROM scratch\nCOPY --from=lib / /lib/\n", [
    "--build-context",
    `lib=${url}?shallow=1`,
  ]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /unexpected query "shallow"/);
  assert.doesNotMatch(bad.stderr, /looks like a bug/i);
});
