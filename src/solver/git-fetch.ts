/**
 * Fetching from a git remote with the system `git`, for git sources (`ADD <git url>`) and git build
 * contexts. The repository is someone else's and polyarch runs as root, so git runs locked down, as
 * BuildKit runs it:
 * - only the network transports are allowed (`GIT_ALLOW_PROTOCOL=https:http:git:ssh`, which also binds
 *   submodules): `file://` (reading the host's repositories), `ext::` (running a command) and the rest are
 *   refused, and `GIT_PROTOCOL_FROM_USER=0` stops a URL from choosing a protocol the policy does not name;
 * - no system or user git config is read (no `insteadOf`, credential helper, hook path or fsmonitor of the
 *   host's user applies), no terminal prompt or askpass program is run, hooks are disabled;
 * - received objects are checked (`transfer.fsckObjects`): a tree with `..`, `.git` or other names git
 *   itself considers malicious is refused before anything is checked out; a checkout writes symlinks as
 *   symlinks and never through one.
 * What git prints on failure is shown (the server's message), with any password in the URL removed.
 */
import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { asEnvironmentError } from "../errors/environment-error.ts";
import { UserError } from "../errors/user-error.ts";
import { redactGitRemote } from "../graph/git-url.ts";
import { resolveInRoot } from "../worker/worker.ts";

const commitPattern = /^[0-9a-f]{40}$|^[0-9a-f]{64}$/;

/** Settings on every git command line; `-c` wins over any config file git might still find. */
const lockedConfig = [
  "protocol.allow=never",
  "protocol.https.allow=always",
  "protocol.http.allow=always",
  "protocol.git.allow=always",
  "protocol.ssh.allow=always",
  "core.hooksPath=/dev/null",
  "core.fsmonitor=false",
  "core.symlinks=true",
  "core.protectNTFS=true",
  "transfer.fsckObjects=true",
  "fetch.fsckObjects=true",
  "submodule.recurse=false",
  "credential.helper=",
  "http.followRedirects=initial",
  "advice.detachedHead=false",
  "init.defaultBranch=main",
  "gc.auto=0",
].flatMap((c) => ["-c", c]);

function gitEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_ASKPASS: "/bin/false",
    SSH_ASKPASS: "/bin/false",
    GIT_ALLOW_PROTOCOL: "https:http:git:ssh",
    GIT_PROTOCOL_FROM_USER: "0",
    // ssh never asks a question on a terminal; keys come from the agent or the user's ~/.ssh.
    GIT_SSH_COMMAND: "ssh -o BatchMode=yes",
    LC_ALL: "C",
  };
  // The user's ssh keys, agent and known hosts (a git@ remote needs them); nothing else of the environment.
  for (const k of [
    "HOME",
    "SSH_AUTH_SOCK",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
  ])
    if (process.env[k] !== undefined) env[k] = process.env[k];
  return env;
}

interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runGit(args: readonly string[], cwd: string | undefined, signal: AbortSignal): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", [...lockedConfig, ...args], {
      cwd,
      env: gitEnvironment(),
      stdio: ["ignore", "pipe", "pipe"],
      signal,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let errLength = 0;
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => {
      // Only the tail is shown; a chatty server cannot fill memory.
      err.push(c);
      errLength += c.length;
      while (errLength > 64 * 1024 && err.length > 1) errLength -= err.shift()!.length;
    });
    child.once("error", (e) => {
      if (signal.aborted) reject(signal.reason ?? e);
      else reject(asEnvironmentError(e) ?? e);
    });
    child.once("close", (code) => {
      resolve({
        code: code ?? 1,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
}

/** git's own words on a failure: its `fatal:`/`error:` lines (or its last lines), passwords removed. */
function gitMessage(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const key = lines.filter((l) => /^(fatal|error|remote):/.test(l));
  return (key.length ? key : lines)
    .slice(-4)
    .map((l) => l.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@/\s]*@/gi, "$1"))
    .join("; ");
}

async function gitOk(
  args: readonly string[],
  cwd: string | undefined,
  signal: AbortSignal,
  what: string,
  hint: string,
): Promise<string> {
  const r = await runGit(args, cwd, signal);
  if (r.code !== 0)
    throw new UserError(`${what}: ${gitMessage(r.stderr) || `git exited with ${r.code}`}`, { hint });
  return r.stdout;
}

/** True for a full commit id (sha1 or sha256), which needs no lookup on the remote. */
export function isCommitId(ref: string): boolean {
  return commitPattern.test(ref);
}

/**
 * The commit `ref` names on `remote` (a branch, a tag — peeled to its commit — or a full commit id), as
 * BuildKit resolves it for the cache key: a moved branch is a new key, the same commit the same key.
 */
export async function resolveGitCommit(remote: string, ref: string, signal: AbortSignal): Promise<string> {
  if (isCommitId(ref)) return ref;
  const shown = redactGitRemote(remote);
  const out = await gitOk(
    ["ls-remote", "--", remote, ...(ref === "" ? ["HEAD"] : [ref, `${ref}^{}`])],
    undefined,
    signal,
    `cannot read git repository ${shown}`,
    "check the URL and that the server is reachable; private repositories need credentials (an ssh agent for git@ URLs)",
  );
  const refs = new Map<string, string>();
  for (const line of out.split("\n")) {
    const [sha, name] = line.split("\t");
    if (sha && name) refs.set(name, sha);
  }
  const wanted =
    ref === ""
      ? ["HEAD"]
      : ref.startsWith("refs/")
        ? [`${ref}^{}`, ref]
        : [`refs/tags/${ref}^{}`, `refs/tags/${ref}`, `refs/heads/${ref}`, `${ref}^{}`, ref];
  for (const name of wanted) {
    const sha = refs.get(name);
    if (sha && isCommitId(sha)) return sha;
  }
  throw new UserError(`git repository ${shown} has no branch or tag ${JSON.stringify(ref || "HEAD")}`, {
    hint: "name a branch, a tag or a full 40-character commit id after the # of the URL",
  });
}

export interface GitCheckout {
  remote: string;
  /** As written (for a fetch of a branch or tag by name); "" for the default branch. */
  ref: string;
  /** The commit resolveGitCommit gave: what is checked out. */
  commit: string;
  /** An empty directory that becomes the work tree. */
  dir: string;
  /** Keep `.git` (ADD --keep-git-dir); otherwise the checkout holds only the commit's files. */
  keepGitDir: boolean;
  /** false leaves the submodules out (a URL's `?submodules=false`); by default they are checked out. */
  submodules?: boolean;
  signal: AbortSignal;
}

/** Checks out one commit (with its submodules unless told not to) into `dir`, fetching only that commit. */
export async function checkoutGit(c: GitCheckout): Promise<void> {
  const shown = redactGitRemote(c.remote);
  const what = `cannot fetch ${shown}${c.ref ? `#${c.ref}` : ""}`;
  const hint =
    "check the URL and the ref; private repositories need credentials (an ssh agent for git@ URLs)";
  await gitOk(["init", "-q", c.dir], undefined, c.signal, what, hint);
  await gitOk(["remote", "add", "origin", c.remote], c.dir, c.signal, what, hint);
  // A commit id is fetched by id; servers that refuse that (old ones) get the ref by name instead.
  const byId = await runGit(["fetch", "-q", "--depth=1", "--no-tags", "origin", c.commit], c.dir, c.signal);
  if (byId.code !== 0) {
    const named = c.ref === "" || isCommitId(c.ref) ? [] : [c.ref];
    await gitOk(["fetch", "-q", "--tags", "origin", ...named], c.dir, c.signal, what, hint);
  }
  await gitOk(["checkout", "-q", "--detach", c.commit], c.dir, c.signal, what, hint);
  if (c.submodules !== false) {
    await gitOk(
      ["submodule", "update", "-q", "--init", "--recursive", "--depth=1"],
      c.dir,
      c.signal,
      `${what}: its submodules`,
      "submodules must be reachable over https, http, git or ssh; other transports (file://, ext::) are refused",
    );
  }
  if (!c.keepGitDir) await removeGitMetadata(c.dir, c.signal);
}

/** Without --keep-git-dir the result has no `.git`: neither the top one nor the submodules' `.git` files. */
async function removeGitMetadata(dir: string, signal: AbortSignal): Promise<void> {
  const out = await runGit(
    ["submodule", "foreach", "--quiet", "--recursive", "echo $displaypath"],
    dir,
    signal,
  );
  const paths = out.code === 0 ? out.stdout.split("\n").filter((p) => p !== "") : [];
  // Resolved in the checkout: a path through a symlink never reaches outside it.
  for (const p of paths)
    await rm(resolveInRoot(dir, `/${p}/.git`, false).host, { force: true, recursive: true });
  await rm(join(dir, ".git"), { recursive: true, force: true });
}
