import { posix } from "node:path";
import { isUserError } from "../../errors/user-error.ts";
import { addVertex } from "../../graph/build.ts";
import { isGitUrl, type ParsedGitUrl, parseGitUrl, redactGitRemote } from "../../graph/git-url.ts";
import { fileNameFromUrl } from "../../graph/http-filename.ts";
import type { CopyAction, FileAction, GitSource, HttpSource } from "../../graph/types.ts";
import { type Digest, isDigest } from "../../oci/digest.ts";
import type { AddInstruction, CopyInstruction, Flag, Heredoc, Word } from "../ast.ts";
import { dockerfileError } from "../errors.ts";
import { parseChmod } from "./chmod.ts";
import { meta, upperKeyword } from "./dispatch.ts";
import { displayText, expandAt, expandHeredocBody } from "./expand.ts";
import { parseOwner } from "./owner.ts";
import { cleanAbsolute, containsWildcards, escapesRoot, resolveDest } from "./paths.ts";
import { fromSourceVertex, localContextVertex, scratchVertex } from "./sources.ts";
import { commitHistory, type PlatformContext, type StageState, stepName } from "./state.ts";

type Src =
  | { kind: "path"; text: string; word: Word }
  | { kind: "http"; text: string; word: Word }
  | { kind: "git"; text: string; url: ParsedGitUrl; word: Word }
  | { kind: "heredoc"; heredoc: Heredoc; word: Word };

/** COPY and ADD: one file op copying every source (or a merge of such an op onto the stage with --link). */
export function dispatchCopy(
  ctx: PlatformContext,
  state: StageState,
  instr: CopyInstruction | AddInstruction,
): void {
  const isAdd = instr.keyword === "ADD";
  const expandFlag = (f: Flag | undefined): string | undefined =>
    f?.value === undefined ? undefined : expandAt(ctx, f.value, state.env, f.valuePos ?? f.pos);
  const chown = expandFlag(instr.chown) || undefined;
  const chmodText = expandFlag(instr.chmod) || undefined;
  const link = flagBool(ctx, instr.link);
  const parents = flagBool(ctx, instr.parents);
  const excludes = instr.excludes.map((f) => expandFlag(f) ?? "").filter((p) => p !== "");
  const from = instr.keyword === "COPY" ? instr.from : undefined;
  if (isAdd && parents) {
    throw dockerfileError("ADD does not support --parents", ctx.source, instr.parents!.pos, {
      hint: "use COPY --parents",
    });
  }
  let mode: number | string | undefined;
  if (chmodText !== undefined) {
    const parsed = parseChmod(chmodText);
    if ("error" in parsed)
      throw dockerfileError(parsed.error, ctx.source, instr.chmod!.valuePos ?? instr.chmod!.pos);
    mode = parsed.mode;
  }
  const owner = chown === undefined ? undefined : parseOwner(chown);

  const sources = classifySources(ctx, state, instr, isAdd);
  if (sources.length === 0)
    throw dockerfileError(`${instr.keyword} needs a source and a destination`, ctx.source, instr.pos);
  const destText = expandAt(ctx, instr.dest.value, state.env, instr.dest.pos);
  const dest = resolveDest(state.cwd, destText);

  const checksum = isAdd ? checksumOf(ctx, instr as AddInstruction, sources) : undefined;
  const unpack = isAdd ? optionalBool(ctx, (instr as AddInstruction).unpack) : undefined;
  const keepGitDir = isAdd ? optionalBool(ctx, (instr as AddInstruction).keepGitDir) : undefined;

  const base = link ? scratchVertex(ctx) : state.vertex;
  const inputs: Digest[] = [base];
  const inputIndex = (d: Digest): number => {
    const i = inputs.indexOf(d);
    if (i >= 0) return i;
    inputs.push(d);
    return inputs.length - 1;
  };
  const common = {
    dest,
    ...(owner ? { owner } : {}),
    ...(mode === undefined ? {} : { mode }),
    ...(excludes.length ? { excludePatterns: excludes } : {}),
  };

  // Paths read from the context (or a named local context), relative to its root, narrow what it sends.
  const pathSources = sources.filter((s): s is Extract<Src, { kind: "path" }> => s.kind === "path");
  const copies = pathSources.map((s) => pathCopy(ctx, s, parents, from === undefined));
  let pathVertex: Digest | undefined;
  if (copies.length > 0) {
    const followPaths = copies.map((c) => c.followPath);
    pathVertex =
      from === undefined
        ? localContextVertex(ctx, "context", ctx.contextExcludePatterns, followPaths)
        : fromSourceVertex(ctx, state, from.value ?? "", from.valuePos ?? from.pos, "--from=", followPaths);
  }

  const actions: FileAction[] = [];
  let pathIndex = 0;
  for (const s of sources) {
    if (s.kind === "path") {
      const c = copies[pathIndex++]!;
      actions.push({
        action: "copy",
        input: inputIndex(pathVertex!),
        src: c.src,
        ...common,
        followSymlinks: true,
        copyDirContents: true,
        createDestPath: true,
        allowWildcard: true,
        allowEmptyWildcard: true,
        attemptUnpack: isAdd ? (unpack ?? true) : false,
        ...(c.include ? { includePatterns: c.include } : {}),
        ...(c.required ? { requiredPaths: c.required } : {}),
      });
    } else if (s.kind === "http") {
      const filename = fileNameFromUrl(s.text);
      const http: HttpSource = { type: "http", url: s.text, filename };
      if (checksum) http.checksum = checksum as Digest;
      const v = addVertex(ctx.graph, { kind: "source", source: http }, []);
      actions.push(plainCopy(inputIndex(v), `/${filename}`, common, unpack ?? false));
    } else if (s.kind === "git") {
      const source = gitSource(ctx, s, keepGitDir, checksum);
      const v = addVertex(
        ctx.graph,
        { kind: "source", source },
        [],
        meta(ctx, state, instr, `[internal] load git source ${redactGitRemote(s.text)}`),
      );
      actions.push({ ...plainCopy(inputIndex(v), "/", common, false), copyDirContents: true });
    }
  }
  for (const s of sources) {
    if (s.kind !== "heredoc") continue;
    const h = s.heredoc;
    let data = h.chomp ? h.content.replace(/^\t+/gm, "") : h.content;
    if (h.expand) data = expandHeredocBody(ctx, data, state.env, h.pos);
    const path = `/${h.name}`;
    const file = addVertex(
      ctx.graph,
      { kind: "file", actions: [{ action: "mkfile", path, mode: 0o644, data }] },
      [scratchVertex(ctx)],
      { name: "preparing inline document" },
    );
    actions.push(plainCopy(inputIndex(file), path, common, false));
  }

  const text = upperKeyword(displayText(ctx, instr.line, state.env, false));
  const name = stepName(ctx, state, text);
  const copied = addVertex(ctx.graph, { kind: "file", actions }, inputs, meta(ctx, state, instr, name));
  if (link) {
    state.cmdIndex--;
    const linkName = stepName(ctx, state, `LINK ${text}`);
    state.vertex = addVertex(
      ctx.graph,
      { kind: "merge" },
      [state.vertex, copied],
      meta(ctx, state, instr, linkName),
    );
  } else {
    state.vertex = copied;
  }
  state.layerVertices.push(state.vertex);

  const parts: string[] = [instr.keyword];
  if (parents) parts.push("--parents");
  if (chown !== undefined) parts.push(`--chown=${chown}`);
  if (chmodText !== undefined) parts.push(`--chmod=${chmodText}`);
  for (const s of sources) if (s.kind !== "heredoc") parts.push(s.text);
  for (const s of sources) if (s.kind === "heredoc") parts.push(`<<${s.heredoc.name}`);
  parts.push(destText);
  commitHistory(state, parts.join(" "), true, true);
}

function classifySources(
  ctx: PlatformContext,
  state: StageState,
  instr: CopyInstruction | AddInstruction,
  isAdd: boolean,
): Src[] {
  const heredocs = [...instr.heredocs];
  return instr.sources.map((word): Src => {
    if (!instr.jsonForm && /^\d*<<-?/.test(word.value) && heredocs.length > 0) {
      return { kind: "heredoc", heredoc: heredocs.shift()!, word };
    }
    const text = expandAt(ctx, word.value, state.env, word.pos);
    if (isGitUrl(text)) {
      if (!isAdd)
        throw dockerfileError("source can't be a git ref for COPY", ctx.source, word.pos, {
          hint: "use ADD",
        });
      return { kind: "git", text, url: parsedGitUrl(ctx, text, word), word };
    }
    if (/^https?:\/\//.test(text)) {
      if (!isAdd)
        throw dockerfileError("source can't be a URL for COPY", ctx.source, word.pos, { hint: "use ADD" });
      return { kind: "http", text, word };
    }
    if (text === "") throw dockerfileError(`${instr.keyword} source is empty`, ctx.source, word.pos);
    return { kind: "path", text, word };
  });
}

/** The copy of one path source: its absolute path in the source, and the path it needs from a context. */
function pathCopy(
  ctx: PlatformContext,
  s: { text: string; word: Word },
  parents: boolean,
  fromContext: boolean,
): { src: string; followPath: string; include?: string[]; required?: string[] } {
  const rel = s.text.replace(/^\/+/, "");
  if (fromContext && escapesRoot(rel)) {
    throw dockerfileError(`source ${s.text} is outside the build context`, ctx.source, s.word.pos, {
      hint: "a COPY or ADD source must be inside the context directory; move the file in, or pass a bigger context",
    });
  }
  const followPath = cleanAbsolute(`/${rel}`).slice(1);
  if (!parents) return { src: cleanAbsolute(`/${s.text}`), followPath };
  // --parents keeps the source's directories below the pivot `/./` (or all of them without one).
  const pivot = s.text.indexOf("/./");
  const parent = pivot < 0 ? "/" : s.text.slice(0, pivot);
  const pattern = cleanAbsolute(`/${pivot < 0 ? s.text : s.text.slice(pivot + 3)}`).slice(1);
  const src = cleanAbsolute(`/${parent}`);
  const required =
    !containsWildcards(parent) && !containsWildcards(pattern)
      ? [cleanAbsolute(posix.join(src, pattern))]
      : undefined;
  return { src, followPath, include: [pattern], ...(required ? { required } : {}) };
}

function plainCopy(
  input: number,
  src: string,
  common: Pick<CopyAction, "dest" | "owner" | "mode" | "excludePatterns">,
  attemptUnpack: boolean,
): CopyAction {
  return {
    action: "copy",
    input,
    src,
    ...common,
    followSymlinks: false,
    copyDirContents: false,
    createDestPath: true,
    allowWildcard: false,
    allowEmptyWildcard: false,
    attemptUnpack,
  };
}

function checksumOf(
  ctx: PlatformContext,
  instr: AddInstruction,
  sources: readonly Src[],
): string | undefined {
  const flag = instr.checksum;
  if (!flag || flag.value === undefined || flag.value === "") return undefined;
  const where = flag.valuePos ?? flag.pos;
  if (sources.length !== 1)
    throw dockerfileError("checksum can't be specified for multiple sources", ctx.source, where);
  const s = sources[0]!;
  if (s.kind !== "http" && s.kind !== "git")
    throw dockerfileError("checksum requires HTTP(S) or Git sources", ctx.source, where);
  if (s.kind === "http" && !isDigest(flag.value)) {
    throw dockerfileError(`invalid checksum ${flag.value}`, ctx.source, where, {
      hint: "give the file's digest, e.g. --checksum=sha256:<64 hex digits>",
    });
  }
  return flag.value;
}

function parsedGitUrl(ctx: PlatformContext, text: string, word: Word): ParsedGitUrl {
  try {
    return parseGitUrl(text)!;
  } catch (e) {
    if (isUserError(e)) throw dockerfileError(e.message, ctx.source, word.pos, { hint: e.hint });
    throw e;
  }
}

/** The git source of `ADD <url>`: the URL's query and the ADD flags must agree where both speak (as BuildKit). */
function gitSource(
  ctx: PlatformContext,
  s: Extract<Src, { kind: "git" }>,
  keepGitDirFlag: boolean | undefined,
  checksumFlag: string | undefined,
): GitSource {
  const { url } = s;
  if (keepGitDirFlag !== undefined && url.keepGitDir !== undefined && keepGitDirFlag !== url.keepGitDir)
    throw dockerfileError("inconsistent keep-git-dir configuration", ctx.source, s.word.pos, {
      hint: "give keep-git-dir once: either the --keep-git-dir flag or the URL's ?keep-git-dir=",
    });
  if (checksumFlag && url.checksum !== undefined && checksumFlag !== url.checksum)
    throw dockerfileError(
      `checksum mismatch ${JSON.stringify(checksumFlag)} != ${JSON.stringify(url.checksum)}`,
      ctx.source,
      s.word.pos,
      { hint: "the --checksum flag and the URL's ?checksum= (or ?commit=) must name the same commit" },
    );
  const source: GitSource = {
    type: "git",
    remote: url.remote,
    ref: url.ref,
    keepGitDir: url.keepGitDir ?? keepGitDirFlag ?? false,
  };
  if (url.subdir) source.subdir = url.subdir;
  const checksum = url.checksum ?? checksumFlag;
  if (checksum) source.checksum = checksum;
  if (url.submodules === false) source.submodules = false;
  return source;
}

function flagBool(ctx: PlatformContext, flag: Flag | undefined): boolean {
  return optionalBool(ctx, flag) ?? false;
}

function optionalBool(ctx: PlatformContext, flag: Flag | undefined): boolean | undefined {
  if (!flag) return undefined;
  if (flag.value === undefined || flag.value === "true") return true;
  if (flag.value === "false") return false;
  throw dockerfileError(
    `--${flag.name} takes true or false, not "${flag.value}"`,
    ctx.source,
    flag.valuePos ?? flag.pos,
  );
}
