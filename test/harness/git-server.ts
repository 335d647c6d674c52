import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { forgetDir, removeOnExit } from "./daemon.ts";
import { runOk } from "./exec.ts";

/**
 * A real git server on loopback for tests of git sources: bare repositories served by `git daemon` (the
 * git:// protocol, one `git daemon --inetd` per connection behind a node TCP listener on a free port, so
 * there is no race for a port) and by `git http-backend` (smart HTTP, run as a CGI program by a small
 * node:http bridge). Both serve the same repositories.
 *
 *   await using git = await startGitServer();
 *   const repo = await git.createRepo("app", { Dockerfile: "FROM scratch\n", "bin/run": { content: "x", mode: 0o755 } });
 *   git.url("app", "http") // http://127.0.0.1:PORT/app.git
 */

/** A file of a commit: text, an executable or other mode, a symlink, or a submodule (gitlink) at a URL. */
export type RepoFile =
  | string
  | { content: string; mode: 0o644 | 0o755 }
  | { link: string }
  | { submodule: string; commit?: string };

export interface CommitOptions {
  /** Branch to commit on (default "main"; made from the current branch when new). */
  branch?: string;
  /** A lightweight tag on the new commit. */
  tag?: string;
  /** An annotated tag on the new commit. */
  annotatedTag?: string;
  message?: string;
}

export interface GitServer extends AsyncDisposable {
  /** The directory holding the bare repositories (`NAME.git`). */
  root: string;
  /** `git://127.0.0.1:PORT/NAME.git` or `http://127.0.0.1:PORT/NAME.git`. */
  url(name: string, via: "git" | "http"): string;
  /** Makes a repository whose first commit (on `main`) holds `files`; returns that commit. */
  createRepo(name: string, files: Record<string, RepoFile>, options?: CommitOptions): Promise<string>;
  /** Adds a commit that replaces the tree with `files`; returns the commit. */
  commit(name: string, files: Record<string, RepoFile>, options?: CommitOptions): Promise<string>;
  /** Request lines (`GET /app.git/info/refs?service=git-upload-pack`) the HTTP side received. */
  httpRequests(): string[];
  /** Connections the git:// side accepted. */
  gitConnections(): number;
  stop(): Promise<void>;
}

// Fixed identity and dates: the same files make the same commit in every run.
const gitEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: "/nonexistent",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "polyarch test",
  GIT_AUTHOR_EMAIL: "test@polyarch.invalid",
  GIT_COMMITTER_NAME: "polyarch test",
  GIT_COMMITTER_EMAIL: "test@polyarch.invalid",
  GIT_AUTHOR_DATE: "2024-01-02T03:04:05Z",
  GIT_COMMITTER_DATE: "2024-01-02T03:04:05Z",
});

async function git(cwd: string, ...args: string[]): Promise<string> {
  return (
    await runOk("git", ["-c", "init.defaultBranch=main", ...args], { cwd, env: gitEnv() })
  ).stdout.trim();
}

export async function startGitServer(): Promise<GitServer> {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-git-"));
  removeOnExit(dir);
  const root = join(dir, "repos");
  await mkdir(root);
  const work = join(dir, "work");
  await mkdir(work);

  let connections = 0;
  const sockets = new Set<Socket>();
  const daemon: Server = createTcpServer((socket) => {
    connections++;
    sockets.add(socket);
    const child = spawn(
      "git",
      ["daemon", "--inetd", "--export-all", `--base-path=${root}`, "--informative-errors", root],
      { stdio: ["pipe", "pipe", "ignore"], env: gitEnv() },
    );
    socket.pipe(child.stdin);
    child.stdout.pipe(socket);
    socket.on("error", () => child.kill("SIGKILL"));
    socket.on("close", () => {
      sockets.delete(socket);
      child.kill("SIGKILL");
    });
    child.stdin.on("error", () => {});
    child.on("exit", () => socket.end());
  });
  const requests: string[] = [];
  const http = createHttpServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    httpBackend(root, req, res);
  });
  await Promise.all([listen(daemon), listen(http)]);
  const gitPort = (daemon.address() as { port: number }).port;
  const httpPort = (http.address() as { port: number }).port;

  const writeTree = async (checkout: string, files: Record<string, RepoFile>) => {
    for (const entry of await git(checkout, "ls-files").then((l) => l.split("\n").filter(Boolean)))
      await git(checkout, "rm", "-q", "--cached", "--", entry);
    for (const name of await import("node:fs/promises").then((fs) => fs.readdir(checkout)))
      if (name !== ".git") await rm(join(checkout, name), { recursive: true, force: true });
    for (const [name, file] of Object.entries(files)) {
      const path = join(checkout, name);
      await mkdir(dirname(path), { recursive: true });
      if (typeof file === "string") await writeFile(path, file);
      else if ("link" in file) await symlink(file.link, path);
      else if ("submodule" in file) {
        // A gitlink entry and its .gitmodules line, without fetching anything (the URL may be hostile).
        const commit = file.commit ?? "0123456789abcdef0123456789abcdef01234567";
        await git(checkout, "update-index", "--add", "--cacheinfo", `160000,${commit},${name}`);
        await git(checkout, "config", "-f", ".gitmodules", `submodule.${name}.path`, name);
        await git(checkout, "config", "-f", ".gitmodules", `submodule.${name}.url`, file.submodule);
        continue;
      } else {
        await writeFile(path, file.content);
        await chmod(path, file.mode);
      }
      await git(checkout, "add", "-f", "--", name);
    }
    if (Object.values(files).some((f) => typeof f === "object" && "submodule" in f))
      await git(checkout, "add", "-f", ".gitmodules");
  };

  const commitIn = async (name: string, files: Record<string, RepoFile>, options: CommitOptions) => {
    const checkout = join(work, name);
    const branch = options.branch ?? "main";
    const branches = (await git(checkout, "branch", "--format=%(refname:short)")).split("\n");
    if (branches.includes(branch)) await git(checkout, "checkout", "-q", branch);
    else await git(checkout, "checkout", "-q", "-b", branch);
    await writeTree(checkout, files);
    await git(checkout, "commit", "-q", "--allow-empty", "-m", options.message ?? `commit on ${branch}`);
    const commit = await git(checkout, "rev-parse", "HEAD");
    if (options.tag) await git(checkout, "tag", options.tag);
    if (options.annotatedTag)
      await git(checkout, "tag", "-a", "-m", options.annotatedTag, options.annotatedTag);
    // Full ref names: a branch may share its name with a tag (tests that tell `?tag=` from `?branch=`).
    const head = `refs/heads/${branch}`;
    await git(checkout, "push", "-q", "--force", "--tags", join(root, `${name}.git`), `${head}:${head}`);
    return commit;
  };

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([close(daemon), close(http)]);
      await rm(dir, { recursive: true, force: true });
      forgetDir(dir);
    })();
    return stopping;
  };
  return {
    root,
    url: (name, via) =>
      via === "git" ? `git://127.0.0.1:${gitPort}/${name}.git` : `http://127.0.0.1:${httpPort}/${name}.git`,
    async createRepo(name, files, options = {}) {
      const bare = join(root, `${name}.git`);
      await git(root, "init", "-q", "--bare", bare);
      await git(root, "-C", bare, "symbolic-ref", "HEAD", `refs/heads/${options.branch ?? "main"}`);
      const checkout = join(work, name);
      await git(work, "init", "-q", checkout);
      return commitIn(name, files, options);
    },
    commit: (name, files, options = {}) => commitIn(name, files, options),
    httpRequests: () => [...requests],
    gitConnections: () => connections,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** One smart-HTTP request through `git http-backend` (CGI: the request in the environment and stdin). */
function httpBackend(root: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const env: NodeJS.ProcessEnv = {
    ...gitEnv(),
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    REQUEST_METHOD: req.method ?? "GET",
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ""),
    REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
    CONTENT_TYPE: req.headers["content-type"] ?? "",
  };
  if (req.headers["content-length"]) env.CONTENT_LENGTH = req.headers["content-length"];
  if (req.headers["content-encoding"]) env.HTTP_CONTENT_ENCODING = req.headers["content-encoding"];
  if (req.headers["git-protocol"]) env.GIT_PROTOCOL = String(req.headers["git-protocol"]);
  const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "ignore"] });
  req.pipe(child.stdin);
  child.stdin.on("error", () => {});
  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on("data", (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const text = head.toString("latin1");
    const end = text.search(/\r?\n\r?\n/);
    if (end < 0) return;
    headersDone = true;
    const sep = text.slice(end).startsWith("\r\n\r\n") ? 4 : text.slice(end).startsWith("\n\n") ? 2 : 3;
    let status = 200;
    for (const line of text.slice(0, end).split(/\r?\n/)) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const key = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (key.toLowerCase() === "status") status = Number.parseInt(value, 10);
      else res.setHeader(key, value);
    }
    res.statusCode = status;
    res.write(head.subarray(end + sep));
  });
  child.on("close", () => {
    if (!headersDone) res.statusCode = 500;
    res.end();
  });
}

function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
}

function close(server: Server | ReturnType<typeof createHttpServer>): Promise<void> {
  return new Promise((resolve) => {
    if ("closeAllConnections" in server) server.closeAllConnections();
    server.close(() => resolve());
  });
}
