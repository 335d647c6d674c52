// Hostile git repositories, as ADD sources and as build contexts: submodules whose URL runs a command
// (ext::) or reads the host (file://), trees with `..` and `.git` names, symlinks and #ref:subdir paths
// that lead out of the checkout, a Dockerfile that links to a host file. Nothing on the host may change
// or be read into the image or the error, and each build ends with the right files or a clear error.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { runOk } from "../harness/exec.ts";
import { type GitServer, startGitServer } from "../harness/git-server.ts";
import { polyarch } from "../support/cli.ts";
import { attack } from "./support/attack.ts";

let git: GitServer;
let dir: string;
let seq = 0;

before(async () => {
  git = await startGitServer();
  dir = await mkdtemp(join(tmpdir(), "polyarch-attack-git-"));
});
after(async () => {
  await git?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function build(args: string[], dockerfile?: string) {
  const out = join(dir, `out-${++seq}`);
  const extra: string[] = [];
  if (dockerfile !== undefined) {
    const ctx = join(dir, `ctx-${seq}`);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, "Dockerfile"), dockerfile);
    extra.push(ctx);
  }
  const r = await polyarch(["build", "--progress=plain", "-o", `type=local,dest=${out}`, ...args, ...extra], {
    env: { POLYARCH_ROOT: join(dir, "state") },
  });
  return { ...r, out, output: r.stderr + r.stdout };
}

/** Every file's bytes under a tree, to check that no canary text reached the image. */
function allText(root: string): string {
  if (!existsSync(root)) return "";
  let text = "";
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) text += readFileSync(p, "utf8");
    }
  };
  walk(root);
  return text;
}

const gitEnv = { ...process.env, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" };

/** Points `main` of a bare repo at a commit whose tree is `entries` (mode, type, name), made by hand. */
async function rawTree(name: string, entries: { name: string; content: string }[]): Promise<void> {
  const bare = join(git.root, `${name}.git`);
  await runOk("git", ["init", "-q", "--bare", bare], { env: gitEnv });
  const lines: string[] = [];
  for (const e of entries) {
    const blob = (
      await runOk("sh", ["-c", 'printf %s "$1" | git -C "$2" hash-object -w --stdin', "sh", e.content, bare])
    ).stdout.trim();
    lines.push(`100644 blob ${blob}\t${e.name}`);
  }
  const tree = (
    await runOk("sh", ["-c", 'printf "%s\\n" "$@" | git -C "$0" mktree', bare, ...lines], { env: gitEnv })
  ).stdout.trim();
  const commit = (
    await runOk("git", ["-C", bare, "commit-tree", "-m", "hostile", tree], {
      env: {
        ...gitEnv,
        GIT_AUTHOR_NAME: "x",
        GIT_AUTHOR_EMAIL: "x@x",
        GIT_COMMITTER_NAME: "x",
        GIT_COMMITTER_EMAIL: "x@x",
      },
    })
  ).stdout.trim();
  await runOk("git", ["-C", bare, "update-ref", "refs/heads/main", commit], { env: gitEnv });
  await runOk("git", ["-C", bare, "symbolic-ref", "HEAD", "refs/heads/main"], { env: gitEnv });
}

attack("a submodule URL with the ext:: transport never runs its command", async (canaries) => {
  const marker = join(canaries.tmpDir, "ext-ran");
  await git.createRepo(`ext-${++seq}`, {
    "a.txt": "a\n",
    mod: { submodule: `ext::sh -c touch% ${marker}` },
  });
  const r = await build([], `FROM scratch\nADD ${git.url(`ext-${seq}`, "http")} /src\n`);
  assert.notEqual(r.code, 0, r.output);
  assert.match(r.stderr, /submodules/);
  assert.doesNotMatch(r.stderr, /looks like a bug/);
  assert.ok(!existsSync(marker), "the ext:: command ran");
});

attack("a submodule URL with file:// cannot read a repository of the host", async (canaries) => {
  // A repository on the host holding the canary: file:// would clone it into the image.
  const hostRepo = join(dir, `host-repo-${++seq}`);
  await runOk("git", ["init", "-q", hostRepo], { env: gitEnv });
  await writeFile(join(hostRepo, "secret.txt"), readFileSync(canaries.etcFile));
  await runOk("git", ["-C", hostRepo, "add", "secret.txt"], { env: gitEnv });
  await runOk("git", ["-C", hostRepo, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "s"], {
    env: gitEnv,
  });
  const name = `file-${++seq}`;
  await git.createRepo(name, { "a.txt": "a\n", mod: { submodule: `file://${hostRepo}` } });
  const r = await build([], `FROM scratch\nADD ${git.url(name, "git")} /src\n`);
  await rm(hostRepo, { recursive: true, force: true });
  assert.notEqual(r.code, 0, r.output);
  assert.match(r.stderr, /submodules/);
  assert.doesNotMatch(allText(r.out), /canary/);
});

attack("a tree with `..` and `.git` names is refused before anything is checked out", async (canaries) => {
  for (const hostile of ["..", ".git", ".GIT"]) {
    const name = `tree-${++seq}`;
    await rawTree(name, [
      { name: "ok.txt", content: "ok\n" },
      { name: hostile, content: `written through ${canaries.tmpDir}\n` },
    ]);
    for (const via of ["http", "git"] as const) {
      const r = await build([], `FROM scratch\nADD ${git.url(name, via)} /src\n`);
      assert.notEqual(r.code, 0, `${hostile} over ${via}: ${r.output}`);
      assert.match(r.stderr, /cannot fetch/);
      assert.doesNotMatch(r.stderr, /looks like a bug/);
    }
  }
});

attack(
  "symlinks in a repository stay links; #ref:subdir through a link or .. stays in the checkout",
  async (canaries) => {
    const name = `links-${++seq}`;
    await git.createRepo(name, {
      "a.txt": "a\n",
      "to-etc": { link: canaries.etcFile },
      "to-tmp": { link: canaries.tmpDir },
      up: { link: "../../../../../../../../.." },
    });
    const url = git.url(name, "http");
    const ok = await build([], `FROM scratch\nADD ${url} /src\n`);
    assert.equal(ok.code, 0, ok.output);
    assert.equal(readlinkSync(join(ok.out, "src/to-etc")), canaries.etcFile);
    assert.doesNotMatch(allText(ok.out), /canary/);
    for (const subdir of ["to-tmp", "up/etc", "../../../../../../etc", "up/tmp"]) {
      const r = await build([], `FROM scratch\nADD ${url}#main:${subdir} /src\n`);
      assert.notEqual(r.code, 0, `${subdir}: ${r.output}`);
      assert.match(r.stderr, /has no directory/);
      assert.doesNotMatch(allText(r.out), /canary|keep me/);
    }
  },
);

attack(
  "a git context whose Dockerfile links to a host file is refused without quoting it",
  async (canaries) => {
    const name = `df-${++seq}`;
    await git.createRepo(name, { Dockerfile: { link: canaries.etcFile }, "a.txt": "a\n" });
    const r = await build([git.url(name, "http")]);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.stderr, /symbolic link to a file outside the build context/);
    assert.doesNotMatch(r.output, /canary/);
  },
);

attack(
  "COPY of a git context's link that leaves it is an error, and copies nothing of the host",
  async (canaries) => {
    const name = `ctxlink-${++seq}`;
    await git.createRepo(name, {
      Dockerfile: "FROM scratch\nCOPY out/ /got/\nCOPY file /got-file\n",
      out: { link: canaries.tmpDir },
      file: { link: canaries.etcFile },
    });
    const r = await build([git.url(name, "git")]);
    assert.notEqual(r.code, 0, r.output);
    assert.doesNotMatch(r.output, /canary: must never change|keep me/);
    assert.doesNotMatch(allText(r.out), /canary|keep me/);
  },
);

attack("credentials in a git URL never appear in progress or errors", async () => {
  const r = await build([], `FROM scratch\nADD http://user:hunter2secret@127.0.0.1:1/none.git /src\n`);
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.output, /hunter2secret/);
  assert.match(r.stderr, /cannot read git repository http:\/\/127\.0\.0\.1:1\/none\.git/);
});
