/**
 * Include and exclude patterns of a copy (`COPY --exclude`, `COPY --parents`), with Docker's pattern rules
 * (moby/patternmatcher, the .dockerignore syntax): `*` and `?` within a component, `**` across any number
 * of them, `!` re-includes, the last matching pattern wins, and a path matches when it or one of its
 * parent directories does (the matcher is src/fsutil/docker-patterns.ts, shared with .dockerignore).
 */
import { compileDockerPatterns } from "../../fsutil/docker-patterns.ts";

export interface PathMatcher {
  /** Whether a slash-separated path relative to the copied source matches. */
  matches(relPath: string): boolean;
  /** True when some pattern starts with "!": below a matching directory something may still not match. */
  hasExceptions: boolean;
}

export function compilePatterns(patterns: readonly string[] | undefined): PathMatcher | undefined {
  if (patterns === undefined || patterns.length === 0) return undefined;
  const matcher = compileDockerPatterns(patterns);
  return {
    matches: matcher.matches,
    hasExceptions: patterns.some((p) => p.trim().startsWith("!")),
  };
}
