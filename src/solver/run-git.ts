/**
 * A git source (`ADD <git url> /dst`): one commit's files as a layer directory named by its cache key,
 * whose content part is the commit (source-content.ts resolves the ref before anything runs), so one
 * commit is fetched once and shared by every build, and a moved branch is fetched again.
 *
 * The checkout is made in a private directory of the state root and its files (or the `#ref:subdir`
 * directory's, resolved inside the checkout: a subdir that is a symlink cannot lead out of it) are moved
 * into the new layer directory. File times are the checkout's, modes are git's (0644/0755), links stay
 * links, as BuildKit's git source gives them.
 */
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { UserError } from "../errors/user-error.ts";
import { formatGitUrl, redactGitRemote } from "../graph/git-url.ts";
import type { GitSource } from "../graph/types.ts";
import { resolveInRoot } from "../worker/worker.ts";
import { checkoutGit } from "./git-fetch.ts";
import { privateTempDir } from "./private-temp.ts";
import type { RunEnv } from "./run-env.ts";

export async function runGit(
  env: RunEnv,
  name: string,
  source: GitSource,
  commit: string,
): Promise<string[]> {
  if (await env.worker.hasSnapshot(name)) return [name];
  const lock = await env.ws.locks.acquire(name, env.signal);
  try {
    if (lock.waited && (await env.worker.hasSnapshot(name))) return [name];
    const tmp = await privateTempDir(dirname(env.ws.root), "git");
    try {
      const checkout = join(tmp, "checkout");
      await mkdir(checkout, { mode: 0o755 });
      await checkoutGit({
        remote: source.remote,
        ref: source.ref,
        commit,
        dir: checkout,
        keepGitDir: source.keepGitDir,
        ...(source.submodules === false ? { submodules: false } : {}),
        signal: env.signal,
      });
      const from = await gitSubdir(checkout, source);
      await env.worker.newSnapshot("git", name, async (root) => {
        for (const entry of await readdir(from)) await rename(join(from, entry), join(root, entry));
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    return [name];
  } finally {
    await lock.release();
  }
}

/** The host directory of `#ref:subdir` inside a checkout, resolved in it; an error when it is no directory. */
export async function gitSubdir(
  checkout: string,
  source: Pick<GitSource, "remote" | "ref" | "subdir">,
): Promise<string> {
  if (!source.subdir) return checkout;
  const dir = resolveInRoot(checkout, `/${source.subdir}`).host;
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) {
    const url = formatGitUrl({
      remote: redactGitRemote(source.remote),
      ref: source.ref,
      subdir: source.subdir,
    });
    throw new UserError(
      `${url}: the repository has no directory ${JSON.stringify(source.subdir)} at that ref`,
      {
        hint: "the part after the : in #ref:subdir is a directory of the repository",
      },
    );
  }
  return dir;
}
