/**
 * Remote build contexts, as buildx takes them: the main context or a `--build-context NAME=…` given as a
 * git URL (`https://host/repo.git#ref:subdir`, `git@host:repo.git`, `ssh://…`, `git://…`) or as an http(s)
 * URL of a tarball. Each is fetched once, before planning, into a private directory of the state root,
 * and is from then on a local context like a directory on disk: its Dockerfile is read from it, COPY
 * selects from it and keys the cache by the files' content (so an unchanged commit or tarball is a cache
 * hit), links that leave it stay links or errors. As in BuildKit (checked against v0.24), a remote
 * context's `.dockerignore` is not applied: it is the client's filter of the files it sends.
 *
 * Like BuildKit, a git checkout has no `.git`, and `-f` names a file inside the fetched context. A tarball
 * is extracted with ADD's extractor (contained in the directory as if it were "/"); an http URL that is not
 * an archive is an error (BuildKit would take the file for a Dockerfile; polyarch asks for it with -f -).
 */
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { openContentStore } from "../../content/local-store.ts";
import { prepareStateRoot } from "../../content/state-root.ts";
import { loadIgnoreRules } from "../../dockerfile/context/ignore-rules.ts";
import { type NamedContext, remoteContextKind } from "../../dockerfile/context/named-contexts.ts";
import type { PlanNamedContext } from "../../dockerfile/plan/types.ts";
import { UserError } from "../../errors/user-error.ts";
import { parseGitUrl, redactGitRemote } from "../../graph/git-url.ts";
import { checkoutGit } from "../../solver/git-fetch.ts";
import { resolveGitSource } from "../../solver/git-source-commit.ts";
import { privateTempDir } from "../../solver/private-temp.ts";
import { gitSubdir } from "../../solver/run-git.ts";
import { extractArchive, isArchive } from "../../worker/fileop/unpack.ts";
import { type ImportedLayout, importOciLayoutContext } from "./oci-layout-contexts.ts";

/** Reports one fetch as a step (`[internal] load remote build context URL`). */
export type FetchProgress = (name: string, work: () => Promise<void>) => Promise<void>;

export interface PreparedContexts {
  /** The main context: as given, or the fetched directory of a remote one. */
  context: string;
  /** Where `-f` is read from: the working directory, or the fetched context for a remote one. */
  dockerfileCwd: string | undefined;
  /** Every named context as a local directory or an image. */
  named: NamedContext[];
  /** The oci-layout:// contexts: their blobs are in the store; the resolver serves their references. */
  layouts: ImportedLayout[];
  /** True when the main context was fetched (its .dockerignore then does not apply). */
  mainIsRemote: boolean;
  /** The commit a git main context was built from, if any. */
  gitCommit: string | undefined;
  /** Removes what was fetched. */
  discard(): Promise<void>;
}

/** Fetches the remote contexts among the main context and the named ones. */
export async function prepareContexts(
  context: string,
  named: readonly NamedContext[],
  stateRoot: string,
  options: { signal?: AbortSignal; progress?: FetchProgress } = {},
): Promise<PreparedContexts> {
  const fetched: string[] = [];
  const signal = options.signal ?? new AbortController().signal;
  const progress: FetchProgress = options.progress ?? ((_, work) => work());
  const discard = async () => {
    for (const dir of fetched.splice(0)) await rm(dir, { recursive: true, force: true });
  };
  try {
    const fetchOne = async (kind: "git" | "url", url: string) => {
      await prepareStateRoot(stateRoot);
      const dir = await privateTempDir(stateRoot, "context");
      fetched.push(dir);
      let result: { dir: string; commit?: string } = { dir };
      await progress(`[internal] load remote build context ${shownUrl(kind, url)}`, async () => {
        result = kind === "git" ? await fetchGit(url, dir, signal) : await fetchTarball(url, dir, signal);
      });
      return result;
    };
    let main = context;
    let dockerfileCwd: string | undefined;
    let gitCommit: string | undefined;
    const mainKind = remoteContextKind(context);
    if (mainKind) {
      const got = await fetchOne(mainKind, context);
      main = got.dir;
      dockerfileCwd = got.dir;
      gitCommit = got.commit;
    }
    const locals: (NamedContext & { fetched?: true })[] = [];
    const layouts: ImportedLayout[] = [];
    for (const c of named) {
      if (c.kind === "oci-layout") {
        await prepareStateRoot(stateRoot);
        const store = await openContentStore(join(stateRoot, "content"));
        let imported: ImportedLayout | undefined;
        await progress(`[internal] load oci-layout context ${c.name}`, async () => {
          imported = await importOciLayoutContext(c, store);
        });
        layouts.push(imported!);
        locals.push({ name: c.name, kind: "image", ref: imported!.ref });
        continue;
      }
      if (c.kind !== "git" && c.kind !== "url") {
        locals.push(c);
        continue;
      }
      const got = await fetchOne(c.kind, c.url);
      locals.push({ name: c.name, kind: "local", path: got.dir, fetched: true });
    }
    return {
      context: main,
      dockerfileCwd,
      named: locals,
      layouts,
      mainIsRemote: mainKind !== undefined,
      gitCommit,
      discard,
    };
  } catch (e) {
    await discard();
    throw e;
  }
}

/** The planner's view of prepared named contexts: a local directory with its `.dockerignore` patterns. */
export function planNamedContexts(named: readonly NamedContext[]): Promise<PlanNamedContext[]> {
  return Promise.all(
    named.map(async (c): Promise<PlanNamedContext> => {
      if (c.kind === "image") return { name: c.name, kind: "image", ref: c.ref };
      if (c.kind === "local" && "fetched" in c) return { name: c.name, kind: "local" };
      if (c.kind === "local")
        return { name: c.name, kind: "local", excludePatterns: (await loadIgnoreRules(c.path)).patterns };
      throw new Error(`named context ${c.name} (${c.kind}) was not fetched before planning`);
    }),
  );
}

function shownUrl(kind: "git" | "url", url: string): string {
  return kind === "git" ? redactGitRemote(url) : redactGitRemote(url.replace(/[?#].*$/, ""));
}

async function fetchGit(
  url: string,
  dir: string,
  signal: AbortSignal,
): Promise<{ dir: string; commit: string }> {
  const parsed = parseGitUrl(url)!;
  const keepGitDir = parsed.keepGitDir ?? false;
  // The query's checksum pins the commit exactly as ADD --checksum does.
  const commit = await resolveGitSource(
    {
      type: "git",
      remote: parsed.remote,
      ref: parsed.ref,
      keepGitDir,
      subdir: parsed.subdir,
      ...(parsed.checksum === undefined ? {} : { checksum: parsed.checksum }),
    },
    signal,
  );
  const checkout = join(dir, "checkout");
  await mkdir(checkout, { mode: 0o755 });
  await checkoutGit({
    remote: parsed.remote,
    ref: parsed.ref,
    commit,
    dir: checkout,
    keepGitDir,
    ...(parsed.submodules === false ? { submodules: false } : {}),
    signal,
  });
  return {
    dir: await gitSubdir(checkout, { remote: parsed.remote, ref: parsed.ref, subdir: parsed.subdir }),
    commit,
  };
}

async function fetchTarball(url: string, dir: string, signal: AbortSignal): Promise<{ dir: string }> {
  const shown = shownUrl("url", url);
  const archive = join(dir, "download");
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: "follow" });
  } catch (e) {
    if (signal.aborted) throw e;
    throw new UserError(`cannot download build context ${shown}: ${(e as Error).message}`, {
      hint: "check the URL and that the server is reachable",
      cause: e,
    });
  }
  if (!response.ok || !response.body) {
    throw new UserError(
      `cannot download build context ${shown}: the server answered ${response.status} ${response.statusText}`,
      {
        hint: "check the URL; a remote context is a git repository or a tar archive (plain or compressed)",
      },
    );
  }
  const body = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>);
  await pipeline(body, createWriteStream(archive, { mode: 0o600 }), { signal });
  if (!(await isArchive(archive))) {
    throw new UserError(`build context ${shown} is not a tar archive`, {
      hint: "a remote context is a git repository (…/repo.git) or a tarball (plain, gzip, bzip2, xz or zstd); for a Dockerfile alone, pipe it into `polyarch build -`",
    });
  }
  const root = join(dir, "context");
  await mkdir(root, { mode: 0o755 });
  await extractArchive(archive, root, {
    owner: undefined,
    env: { where: undefined, location: undefined, warn: () => {} },
    archiveName: shown,
  });
  await rm(archive, { force: true });
  return { dir: root };
}
