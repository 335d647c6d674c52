/**
 * Include and exclude patterns of a copy (`COPY --exclude`, `COPY --parents`), with Docker's pattern rules
 * (moby/patternmatcher, the .dockerignore syntax): `*` and `?` within a component, `**` across any number
 * of them, `!` re-includes, the last matching pattern wins, and a path matches when it or one of its
 * parent directories does. @balena/dockerignore is a faithful port of that matcher; it is used
 * case-sensitively, as Docker is on Linux.
 */
import * as dockerignore from "@balena/dockerignore";

export interface PathMatcher {
  /** Whether a slash-separated path relative to the copied source matches. */
  matches(relPath: string): boolean;
  /** True when some pattern starts with "!": below a matching directory something may still not match. */
  hasExceptions: boolean;
}

// The package is CommonJS (`module.exports = factory`) while its typings declare a default export.
type IgnoreFactory = typeof dockerignore.default.default;
const loaded = dockerignore.default as unknown as IgnoreFactory | { default: IgnoreFactory };
const factory: IgnoreFactory = typeof loaded === "function" ? loaded : loaded.default;

export function compilePatterns(patterns: readonly string[] | undefined): PathMatcher | undefined {
  if (patterns === undefined || patterns.length === 0) return undefined;
  const matcher = factory({ ignorecase: false }).add([...patterns]);
  return {
    matches: (relPath) => relPath !== "" && matcher.ignores(relPath),
    hasExceptions: patterns.some((p) => p.trim().startsWith("!")),
  };
}
