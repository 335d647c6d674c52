import { readFile } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { UserError } from "../../errors/user-error.ts";
import { BadPatternError, compileDockerPatterns } from "../../fsutil/docker-patterns.ts";

/**
 * The exclusion rules of a build context, with Docker's exact `.dockerignore` semantics (the matcher is
 * src/fsutil/docker-patterns.ts, case-sensitive as Docker is): comments start in column
 * one, patterns are cleaned and anchored at the context root, `**` spans directories, `!` re-includes, the
 * last matching line wins, and a path is excluded when it or one of its parent directories matches.
 */
export interface IgnoreRules {
  /** The file the rules came from (absolute), or undefined when there is none. */
  source: string | undefined;
  /** Pattern lines as written, without comments and blank lines, in order. */
  patterns: string[];
  /** True when some pattern is an exception (`!…`), so an excluded directory may still hold included files. */
  hasExceptions: boolean;
  /** True when the context-relative, slash-separated path is excluded. */
  ignores(relPath: string): boolean;
}

/** Compiles ignore rules from the text of an ignore file; a malformed pattern is an error naming its line. */
export function parseIgnoreRules(text: string, source?: string): IgnoreRules {
  const patterns: string[] = [];
  const lines: number[] = [];
  text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .forEach((raw, i) => {
      // Docker only treats `#` in the first column as a comment; "  # x" is a pattern.
      if (raw.startsWith("#") || raw.trim() === "") return;
      patterns.push(raw);
      lines.push(i + 1);
    });
  try {
    return compileIgnoreRules(patterns, source);
  } catch (e) {
    if (!(e instanceof BadPatternError)) throw e;
    const file = source === undefined ? ".dockerignore" : relative(process.cwd(), source) || source;
    const line = lines[patterns.indexOf(e.pattern)];
    throw new UserError(`${e.message} ${JSON.stringify(e.pattern)} at ${file}:${line}`, {
      hint: "close each [ with ], end no line with a lone \\, or escape a literal [ as \\[",
    });
  }
}

/**
 * Compiles ignore rules from pattern lines (as `--exclude` flags or a planner's selection carry them);
 * throws BadPatternError for a malformed one.
 */
export function compileIgnoreRules(patterns: readonly string[], source?: string): IgnoreRules {
  const matcher = compileDockerPatterns(patterns);
  const hasExceptions = patterns.some((p) => /^\s*\/?!/.test(p));
  return {
    source,
    patterns: [...patterns],
    hasExceptions,
    ignores: matcher.matches,
  };
}

export const noIgnoreRules: IgnoreRules = compileIgnoreRules([]);

/**
 * Finds and reads the ignore file for a build, as BuildKit does: `<Dockerfile>.dockerignore` next to the
 * Dockerfile wins when it exists, otherwise `.dockerignore` at the context root. A Dockerfile read from
 * stdin (dockerfilePath undefined) only has the context's file.
 */
export async function loadIgnoreRules(contextDir: string, dockerfilePath?: string): Promise<IgnoreRules> {
  const candidates: string[] = [];
  if (dockerfilePath !== undefined) {
    candidates.push(join(dirname(dockerfilePath), `${basename(dockerfilePath)}.dockerignore`));
  }
  candidates.push(join(contextDir, ".dockerignore"));
  for (const file of candidates) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") continue;
      throw new UserError(`cannot read ignore file ${relative(process.cwd(), file) || file}: ${code ?? e}`, {
        hint: "check the file's permissions, or remove it",
        cause: e,
      });
    }
    return parseIgnoreRules(text, file);
  }
  return noIgnoreRules;
}
