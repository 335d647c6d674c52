/**
 * One COPY/ADD source: the copy action of a file op, with Docker's rules as BuildKit's file backend applies
 * them.
 *
 * - `src` may hold wildcards (wildcard.ts); no match is an error unless allowEmptyWildcard. A path
 *   without wildcards that does not exist is always an error, naming near matches.
 * - With followSymlinks a symlink named by the source path itself is followed (inside its tree); links
 *   below a copied directory are copied as links.
 * - A directory's contents are copied when copyDirContents, else the directory itself.
 * - `dest` ending in "/" (or "/.") is a directory the source goes into, made if missing. Without the
 *   slash, an existing directory also takes the source inside; anything else is replaced by it.
 * - Several wildcard matches need a directory destination: an existing directory or a trailing "/"
 *   (Docker's rule; BuildKit would silently keep only the last file).
 * - ADD (attemptUnpack): a source that is a tar archive (plain, gzip, bzip2, xz or zstd) is extracted
 *   into the destination directory instead of copied.
 */
import { lstatSync, realpathSync, type Stats } from "node:fs";
import { dirname } from "node:path";
import { compileMode } from "./chmod.ts";
import type { ActionEnv, FileOpContext } from "./context.ts";
import { DestDirTimes } from "./dest-times.ts";
import { fileOpError, sourceNotFound } from "./errors.ts";
import { resolveOwner } from "./owner.ts";
import { compilePatterns } from "./patterns.ts";
import {
  climbsOutOfRoot,
  type Ids,
  lstatIfExists,
  mkdirAllInRoot,
  parentPath,
  resolveInRoot,
} from "./root-path.ts";
import { Copier } from "./tree-copy.ts";
import type { CopyAction } from "./types.ts";
import { extractArchive, isArchive } from "./unpack.ts";
import { matchWildcards } from "./wildcard.ts";

/** `/a/b/` and `/a/b/.` keep their meaning ("into the directory"); everything else is cleaned. */
function wantsDirectory(dest: string): boolean {
  return dest.endsWith("/") || dest.endsWith("/.") || dest === "." || dest === "";
}

export async function copyAction(action: CopyAction, ctx: FileOpContext, env: ActionEnv): Promise<void> {
  const sourceTree = ctx.inputs[action.input];
  if (sourceTree === undefined) {
    throw new Error(
      `copy action reads input ${action.input}, but the vertex has ${ctx.inputs.length} inputs`,
    );
  }
  const srcRoot = realpathSync(sourceTree);
  const destRoot = realpathSync(ctx.dest);
  const fromContext = ctx.contextInputs?.includes(action.input) ?? false;
  const inputName = ctx.inputNames?.[action.input];

  if (climbsOutOfRoot(action.src)) {
    throw fileOpError(
      env,
      `COPY source ${action.src} is outside the ${fromContext ? "context" : "source"}: its ".." climbs above the root`,
      "a source must be inside the build context (or the stage or image it is copied from)",
    );
  }
  if (!action.createDestPath) {
    const parent = resolveInRoot(destRoot, parentPath(action.dest));
    if (!lstatIfExists(parent.host)?.isDirectory()) {
      throw fileOpError(env, `cannot copy to ${action.dest}: ${parent.logical} does not exist`);
    }
  }

  for (const required of action.requiredPaths ?? []) {
    if (lstatIfExists(resolveInRoot(srcRoot, required).host) === undefined) {
      throw sourceNotFound(env, srcRoot, required, inputName);
    }
  }

  const matches = action.allowWildcard
    ? matchWildcards(srcRoot, action.src, action.followSymlinks)
    : [{ path: action.src, rel: "" }];
  if (matches.length === 0) {
    if (action.allowEmptyWildcard) return;
    throw fileOpError(
      env,
      `no source files were specified: ${JSON.stringify(action.src)} matches nothing${inputName ? ` in ${inputName}` : ""}`,
    );
  }

  const owner = resolveOwner(action.owner, destRoot, env);
  const copier = new Copier({
    owner,
    rootOwned: fromContext,
    mode: compileMode(action.mode),
    warn: env.warn,
    include: compilePatterns(action.includePatterns),
    exclude: compilePatterns(action.excludePatterns),
    replaceExisting: false,
    destRoot,
    env,
  });
  const intoDir = wantsDirectory(action.dest);
  const dirMode = createdDirMode(action.mode);
  const times = new DestDirTimes();

  // Where the destination's directory part must exist first: the dest itself with a trailing slash.
  const ensure = intoDir ? action.dest : parentPath(action.dest);
  mkdirAllInRoot(destRoot, ensure, dirMode, owner, times);
  await copyMatches(matches, srcRoot, destRoot, copier, owner, dirMode, times, action, env, inputName);
  times.apply();
}

async function copyMatches(
  matches: readonly { path: string; rel: string }[],
  srcRoot: string,
  destRoot: string,
  copier: Copier,
  owner: Ids | undefined,
  dirMode: number,
  times: DestDirTimes,
  action: CopyAction,
  env: ActionEnv,
  inputName: string | undefined,
): Promise<void> {
  for (const { path: match, rel } of matches) {
    const src = resolveInRoot(srcRoot, match, action.followSymlinks);
    const srcStats = lstatIfExists(src.host);
    if (srcStats === undefined) throw sourceNotFound(env, srcRoot, match, inputName);
    // A wildcard match that an exclude pattern names is skipped whole (`COPY --exclude=*.txt hom* /dir/`,
    // the Dockerfile reference's example); below a copied directory, paths are relative to it.
    if (rel !== "" && copier.options.exclude?.matches(rel)) continue;
    times.source(lstatSync(src.host, { bigint: true }).mtimeNs);

    if (action.attemptUnpack && srcStats.isFile() && (await isArchive(src.host))) {
      const into = mkdirAllInRoot(destRoot, action.dest, dirMode, owner, times);
      times.touching(into.host);
      await extractArchive(src.host, into.host, { owner, env, archiveName: match });
      continue;
    }
    await copyOne(
      copier,
      src.host,
      srcStats,
      match,
      action,
      destRoot,
      owner,
      dirMode,
      matches.length,
      env,
      times,
    );
  }
}

/**
 * The mode of the directories a copy creates on the way to its destination. BuildKit gives them an octal
 * --chmod's mode (`COPY --chmod=700 f /a/b/f` makes /a and /a/b 0700); a symbolic mode only applies to
 * what is copied, so they get 0755 as without --chmod. Directories that already exist keep their mode.
 */
function createdDirMode(mode: CopyAction["mode"]): number {
  return typeof mode === "number" ? mode & 0o7777 : 0o755;
}

async function copyOne(
  copier: Copier,
  srcHost: string,
  srcStats: Stats,
  match: string,
  action: CopyAction,
  destRoot: string,
  owner: Ids | undefined,
  dirMode: number,
  matchCount: number,
  env: ActionEnv,
  times: DestDirTimes,
): Promise<void> {
  const srcIsDir = srcStats.isDirectory();
  let dst = resolveInRoot(destRoot, action.dest);
  const destStats = lstatIfExists(dst.host);
  const destIsDir = destStats?.isDirectory() ?? false;
  if (matchCount > 1 && !srcIsDir && !destIsDir) {
    throw fileOpError(
      env,
      `${JSON.stringify(action.src)} matches more than one file, so the destination ${action.dest} must be a directory`,
      `end the destination with a slash (e.g. ${action.dest.replace(/\/?$/, "/")}) to copy the files into it`,
    );
  }
  const name =
    match
      .split("/")
      .filter((p) => p !== "")
      .pop() ?? "";
  if ((!action.copyDirContents && srcIsDir && destStats) || (!srcIsDir && destIsDir)) {
    // Into the directory, under the source's own name; a link already there is replaced, never followed.
    if (name !== "") dst = resolveInRoot(destRoot, `${dst.logical}/${name}`, false);
  }
  // The directory the entry goes into; for a directory's contents to a new path, that path itself.
  mkdirAllInRoot(
    destRoot,
    action.copyDirContents && srcIsDir && !destStats ? dst.logical : parentPath(dst.logical),
    dirMode,
    owner,
    times,
  );
  times.touching(dirname(dst.host));
  await copier.copy(srcHost, "", dst.host, false);
  times.copiedOnto(dst.host);
}
