// Git sources and remote contexts, built by BuildKit v0.24 and by polyarch from the same real git server
// (git http-backend and git daemon on loopback) and tarball server: the trees a user gets (names, types,
// modes, owners, link targets, contents) must be the same. File times are not compared: both give the
// checkout's time.
import assert from "node:assert/strict";
import { readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { TreeEntry } from "../harness/buildkit.ts";
import { runOk } from "../harness/exec.ts";
import { type GitServer, startGitServer } from "../harness/git-server.ts";
import { assertSameTree, Differential } from "./support.ts";

let diff: Differential;
let git: GitServer;
let server: Server;
let origin: string;

const repoFiles = {
  "README.md": "readme\n",
  "bin/tool": { content: "#!/bin/sh\necho tool\n", mode: 0o755 as const },
  "sub/inner.txt": "inner\n",
  "sub/deeper/d.txt": "deep\n",
  "link-in": { link: "README.md" },
  "link-out": { link: "../../etc/passwd" },
};

before(async () => {
  diff = await Differential.start();
  git = await startGitServer();
  await git.createRepo("repo", repoFiles, { tag: "v1" });
  await git.createRepo(
    "ctx",
    {
      Dockerfile: "FROM scratch\nCOPY . /ctx/\nCOPY --from=lib / /lib/\n",
      ".dockerignore": "skipped\n",
      skipped: "no\n",
      "app/main.txt": "main\n",
      "app/run.sh": { content: "echo\n", mode: 0o755 },
    },
    { tag: "v1" },
  );
  const src = join(diff.dir, "tar-src");
  await runOk("sh", [
    "-c",
    `mkdir -p "$1/d" && printf 'tar\\n' > "$1/d/t.txt" && chmod 640 "$1/d/t.txt" && printf 'FROM scratch\\nCOPY . /t/\\n' > "$1/Dockerfile"`,
    "sh",
    src,
  ]);
  await runOk("tar", ["-czf", join(diff.dir, "lib.tar.gz"), "-C", src, "."]);
  const tarball = await readFile(join(diff.dir, "lib.tar.gz"));
  await rm(src, { recursive: true, force: true });
  server = createServer((_req, res) => res.end(tarball));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await git?.stop();
  await diff?.[Symbol.asyncDispose]();
});

/** The trees without `.git` internals (index, hooks and logs are git's own business), for --keep-git-dir. */
function withoutGitInternals(tree: TreeEntry[] | undefined): TreeEntry[] | undefined {
  return tree?.filter((e) => !/(^|\/)\.git\//.test(e.path));
}

test("ADD <git url>#ref and #ref:subdir give BuildKit's tree", async () => {
  const url = git.url("repo", "http");
  const seen = await diff.both(
    { Dockerfile: `FROM scratch\nADD ${url}#v1 /all/\nADD ${git.url("repo", "git")}#main:sub /sub\n` },
    { output: "local" },
  );
  assertSameTree(seen);
});

test("ADD --keep-git-dir keeps a .git as BuildKit does", async () => {
  const seen = await diff.both(
    { Dockerfile: `FROM scratch\nADD --keep-git-dir=true ${git.url("repo", "http")}#v1 /kept\n` },
    { output: "local" },
  );
  assert.ok(seen.buildkit.ok, seen.buildkit.output);
  assert.ok(seen.polyarch.ok, seen.polyarch.output);
  assert.deepEqual(withoutGitInternals(seen.polyarch.tree), withoutGitInternals(seen.buildkit.tree));
  assert.ok(seen.polyarch.tree?.some((e) => e.path === "kept/.git" && e.type === "dir"));
});

// (BuildKit v0.24 fails a tarball *named* context with "invalid argument"; only the main one is compared.)
test("a git URL as the build context, with a git named context in COPY --from", async () => {
  const ctx = await diff.context({ unused: "" });
  const options = {
    output: "local" as const,
    remoteContext: `${git.url("ctx", "http")}#v1`,
    namedContexts: { lib: `${git.url("repo", "git")}#v1:sub` },
  };
  const seen = {
    buildkit: await diff.buildkit.build(ctx, options),
    polyarch: await diff.polyarch(ctx, options),
  };
  assertSameTree(seen);
});

test("an https tarball as the build context", async () => {
  const ctx = await diff.context({ unused: "" });
  const options = { output: "local" as const, remoteContext: `${origin}/lib.tar.gz` };
  const seen = {
    buildkit: await diff.buildkit.build(ctx, options),
    polyarch: await diff.polyarch(ctx, options),
  };
  assertSameTree(seen);
});

test("a git named context used by FROM and COPY --from", async () => {
  const seen = await diff.both(
    {
      Dockerfile:
        "FROM repo AS r\nFROM scratch\nCOPY --from=r /sub /from-stage\nCOPY --from=repo /bin /bin\n",
    },
    { output: "local", namedContexts: { repo: `${git.url("repo", "git")}#v1` } },
  );
  assertSameTree(seen);
});

test("the URL query: ?tag= and ?branch= of the same name, ?subdir=, ?commit= give BuildKit's trees", async () => {
  const tagged = await git.createRepo("query", { "which.txt": "tag\n", "sub/s.txt": "s\n" }, { tag: "v1" });
  await git.commit("query", { "which.txt": "branch\n", "sub/s.txt": "s2\n" }, { branch: "v1" });
  const url = git.url("query", "http");
  const seen = await diff.both(
    {
      Dockerfile:
        "FROM scratch\n" +
        `ADD ${url}?tag=v1 /tag/\n` +
        `ADD ${url}?branch=v1&subdir=sub /branch-sub/\n` +
        `ADD ${url}?tag=v1&commit=${tagged} /pinned/\n`,
    },
    { output: "local" },
  );
  assertSameTree(seen);
});

test("a query that conflicts with the fragment, or an unknown key, fails with BuildKit's words", async () => {
  const url = git.url("repo", "http");
  for (const [source, words] of [
    [`${url}?ref=main#v1`, 'ref conflicts: "v1" vs "main"'],
    [`${url}?depth=1`, 'unexpected query "depth"'],
  ] as const) {
    const seen = await diff.both({ Dockerfile: `FROM scratch\nADD ${source} /x/\n` }, { output: "local" });
    assert.ok(!seen.buildkit.ok && !seen.polyarch.ok, `${source}: both fail`);
    assert.ok(seen.buildkit.output.includes(words), `BuildKit: ${seen.buildkit.output}`);
    assert.ok(seen.polyarch.output.includes(words), `polyarch: ${seen.polyarch.output}`);
  }
});
