/**
 * Docker's path patterns (`.dockerignore`, `COPY --exclude`, context selections: moby/patternmatcher) with
 * @balena/dockerignore as the matcher. That port follows moby 19.03, which turned a pattern into a regular
 * expression escaping only `.` and `$`: a name such as `a+b` or `f(1)` then matched wrongly or threw "Invalid
 * regular expression". Current moby quotes every other character, so a pattern matches its own characters
 * literally except `*`, `?`, `**`, `[…]` and `\` escapes; this module gives the port patterns escaped that
 * way, and rejects a malformed pattern as patternmatcher does (Go's filepath.ErrBadPattern).
 */
import * as dockerignore from "@balena/dockerignore";

/** A pattern that Go's filepath.Match would reject; the message is Go's (what users search for). */
export class BadPatternError extends Error {
  readonly pattern: string;
  constructor(pattern: string) {
    super("syntax error in pattern");
    this.pattern = pattern;
  }
}

export interface DockerPatternMatcher {
  /** True when the slash-separated relative path, or one of its parent directories, is matched (last rule wins). */
  matches(relPath: string): boolean;
}

// The package is CommonJS (`module.exports = factory`) while its typings declare a default export; the
// namespace's `default` is the factory both for Node's ESM loader and for the bundle.
type IgnoreFactory = typeof dockerignore.default.default;
const loaded = dockerignore.default as unknown as IgnoreFactory | { default: IgnoreFactory };
const factory: IgnoreFactory = typeof loaded === "function" ? loaded : loaded.default;

// Characters the port would pass into its regular expression unescaped, outside a bracket expression.
const regexSpecial = new Set(["^", "+", "(", ")", "|", "{", "}", "]"]);

/** Compiles pattern lines (case-sensitively, as Docker on Linux); throws BadPatternError for a malformed one. */
export function compileDockerPatterns(patterns: readonly string[]): DockerPatternMatcher {
  // No rules (a context without .dockerignore): asked once per context file, so answered without the port.
  if (patterns.length === 0) return { matches: () => false };
  const escaped = patterns.map(escapePattern);
  const matcher = factory({ ignorecase: false }).add(escaped);
  for (let i = 0; i < escaped.length; i++) {
    // The port compiles lazily; compile each rule now so a bad one fails here, naming its line.
    try {
      factory({ ignorecase: false }).add([escaped[i]!]).ignores("x");
    } catch {
      throw new BadPatternError(patterns[i]!);
    }
  }
  return { matches: (relPath) => relPath !== "" && relPath !== "." && matcher.ignores(relPath) };
}

function escapePattern(pattern: string): string {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") {
      if (i + 1 >= pattern.length) throw new BadPatternError(pattern);
      out += c + pattern[++i];
    } else if (c === "[") {
      const end = closingBracket(pattern, i);
      if (end < 0) throw new BadPatternError(pattern);
      out += pattern.slice(i, end + 1);
      i = end;
    } else if (regexSpecial.has(c)) {
      out += `\\${c}`;
    } else out += c;
  }
  return out;
}

// The `]` that closes the bracket expression opened at `open` (a `]` right after `[` or `[^` is a member).
function closingBracket(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === "^") i++;
  if (pattern[i] === "]") i++;
  for (; i < pattern.length; i++) {
    if (pattern[i] === "\\") i++;
    else if (pattern[i] === "]") return i;
  }
  return -1;
}
