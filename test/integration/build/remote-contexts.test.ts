// Remote contexts through the real CLI: a git URL or a tarball URL as the main context and as named
// contexts (`--build-context NAME=…`), used by FROM and COPY --from, served on loopback by a real git
// server (git daemon, git http-backend) and a plain HTTP server.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runOk } from "../../harness/exec.ts";
import { type GitServer, startGitServer } from "../../harness/git-server.ts";
import { polyarch } from "../../support/cli.ts";

let git: GitServer;
let dir: string;
let server: Server;
let origin: string;
let seq = 0;

before(async () => {
  git = await startGitServer();
  dir = await mkdtemp(join(tmpdir(), "polyarch-remote-ctx-"));
  await git.createRepo(
    "app",
    {
      "docker/Dockerfile": "FROM scratch\nCOPY . /app/\n",
      "docker/Dockerfile.alt": "FROM scratch\nCOPY hello.txt /alt.txt\n",
      "docker/hello.txt": "hello from a git context\n",
      "docker/.dockerignore": "ignored.txt\n",
      "docker/ignored.txt": "must not be copied\n",
      "top.txt": "top\n",
    },
    { tag: "v1" },
  );
  await git.createRepo("lib", { "lib/version.txt": "lib 1.0\n", README: "lib readme\n" }, { tag: "v2" });
  const tarSrc = join(dir, "tar-src");
  await mkdir(join(tarSrc, "files"), { recursive: true });
  await writeFile(join(tarSrc, "Dockerfile"), "FROM scratch\nCOPY files/ /from-tar/\n");
  await writeFile(join(tarSrc, "files", "t.txt"), "from a tarball\n");
  await runOk("tar", ["-czf", join(dir, "ctx.tar.gz"), "-C", tarSrc, "."]);
  const tarball = await readFile(join(dir, "ctx.tar.gz"));
  server = createServer((req, res) => {
    if (req.url === "/ctx.tar.gz") {
      res.writeHead(200, { "content-type": "application/gzip" });
      res.end(tarball);
    } else if (req.url === "/not-a-tar") {
      res.end("FROM scratch\n");
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await git?.stop();
  await new Promise((resolve) => server?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function build(args: string[], state = join(dir, "state")) {
  const out = join(dir, `out-${++seq}`);
  const r = await polyarch(["build", "--progress=plain", "-o", `type=local,dest=${out}`, ...args], {
    env: { POLYARCH_ROOT: state },
  });
  return { ...r, out, output: r.stderr + r.stdout };
}

async function localContext(files: Record<string, string>): Promise<string> {
  const ctx = join(dir, `ctx-${++seq}`);
  await mkdir(ctx, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(ctx, name), text);
  return ctx;
}

for (const via of ["http", "git"] as const) {
  test(`a git URL over ${via}:// is the build context: Dockerfile and files from #ref:subdir, .dockerignore not applied (as BuildKit)`, async () => {
    const r = await build([`${git.url("app", via)}#v1:docker`]);
    assert.equal(r.code, 0, r.output);
    assert.deepEqual(readdirSync(join(r.out, "app")).sort(), [
      ".dockerignore",
      "Dockerfile",
      "Dockerfile.alt",
      "hello.txt",
      "ignored.txt",
    ]);
    assert.equal(readFileSync(join(r.out, "app/hello.txt"), "utf8"), "hello from a git context\n");
    assert.ok(!existsSync(join(r.out, "app/.git")), "a git context has no .git");
    assert.match(r.output, /load remote build context/);
  });
}

test("-f names a Dockerfile inside a remote context", async () => {
  const r = await build(["-f", "Dockerfile.alt", `${git.url("app", "http")}#main:docker`]);
  assert.equal(r.code, 0, r.output);
  assert.equal(readFileSync(join(r.out, "alt.txt"), "utf8"), "hello from a git context\n");
});

test("an https tarball is the build context", async () => {
  const r = await build([`${origin}/ctx.tar.gz`]);
  assert.equal(r.code, 0, r.output);
  assert.equal(readFileSync(join(r.out, "from-tar/t.txt"), "utf8"), "from a tarball\n");
});

test("a URL that is not an archive is a clear error", async () => {
  const r = await build([`${origin}/not-a-tar`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /is not a tar archive/);
  assert.doesNotMatch(r.stderr, /looks like a bug/);
});

test("named contexts from git and from a tarball, in COPY --from and in FROM", async () => {
  const ctx = await localContext({
    Dockerfile: [
      "FROM lib AS from-lib",
      "FROM scratch",
      "COPY --from=lib /version.txt /lib-version.txt",
      "COPY --from=from-lib /version.txt /via-stage.txt",
      "COPY --from=tarctx /files/t.txt /t.txt",
      "",
    ].join("\n"),
  });
  const r = await build([
    "--build-context",
    `lib=${git.url("lib", "git")}#v2:lib`,
    "--build-context",
    `tarctx=${origin}/ctx.tar.gz`,
    ctx,
  ]);
  assert.equal(r.code, 0, r.output);
  assert.equal(readFileSync(join(r.out, "lib-version.txt"), "utf8"), "lib 1.0\n");
  assert.equal(readFileSync(join(r.out, "via-stage.txt"), "utf8"), "lib 1.0\n");
  assert.equal(readFileSync(join(r.out, "t.txt"), "utf8"), "from a tarball\n");
});

test("an unchanged commit of a git context is a cache hit", async () => {
  const state = join(dir, "state-cache");
  const url = `${git.url("app", "http")}#v1:docker`;
  const a = await build([url], state);
  assert.equal(a.code, 0, a.output);
  const b = await build([url], state);
  assert.equal(b.code, 0, b.output);
  assert.match(b.output, /CACHED/);
});

test("the fetched contexts are removed when the build ends", async () => {
  const state = join(dir, "state-clean");
  const r = await build([`${git.url("app", "http")}#v1:docker`], state);
  assert.equal(r.code, 0, r.output);
  const tmp = join(state, "solver", "tmp");
  const left = existsSync(tmp) ? readdirSync(tmp).filter((n) => /^(context|git)-/.test(n)) : [];
  assert.deepEqual(left, []);
});
