import { UserError } from "../errors/user-error.ts";
import type { Position } from "./ast.ts";

/** Where a Dockerfile error points: the file name, its lines (to show the offending one) and a position. */
export interface DockerfileSource {
  file: string;
  /** The file's lines (index 0 is line 1); `DockerfileAst.lines` fits. */
  lines: readonly string[];
}

export interface DockerfileErrorOptions {
  hint?: string;
  cause?: unknown;
}

/**
 * A user error located in a Dockerfile. The CLI prints it as `Dockerfile:7:1: message`, then the source
 * line with a caret under the column, then the hint.
 */
export class DockerfileError extends UserError {
  override name = "DockerfileError";
  readonly pos: Position;

  constructor(
    message: string,
    source: DockerfileSource,
    pos: Position,
    options: DockerfileErrorOptions = {},
  ) {
    const line = source.lines[pos.line - 1];
    super(message, {
      ...(options.hint === undefined ? {} : { hint: options.hint }),
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      location: {
        file: source.file,
        line: pos.line,
        column: pos.column,
        ...(line === undefined ? {} : { source: line }),
      },
    });
    this.pos = pos;
  }
}

/** Shorthand for `new DockerfileError(...)`, handy in expressions such as `throw dockerfileError(...)`. */
export function dockerfileError(
  message: string,
  source: DockerfileSource,
  pos: Position,
  options: DockerfileErrorOptions = {},
): DockerfileError {
  return new DockerfileError(message, source, pos, options);
}

/**
 * The candidate closest to `word` (case-insensitive edit distance), if it is close enough to be a likely
 * typo: at most a third of the word's length, and never more than 2 edits. Used for "did you mean RUN?".
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  const limit = Math.min(2, Math.max(1, Math.floor(w.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * "did you mean X?" for `word` among `candidates`, or undefined when nothing is close, chosen as BuildKit's
 * error suggestions choose (so the words match what users search for): case-insensitive Levenshtein
 * distance below 3, the first closest candidate (`FOO` → `FROM`, `copyy` → `copy`).
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const lower = c.toLowerCase();
    if (lower === w) return undefined;
    const d = editDistance(w, lower, bestDistance, false);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  // BuildKit compares lower-cased names: the suggestion is upper case only when the word was.
  const cased = word === word.toUpperCase() ? best.toUpperCase() : best.toLowerCase();
  return `did you mean ${cased}?`;
}

// Levenshtein distance (with transpositions counted as one edit unless told not to); stops early once
// `cap` is reached.
function editDistance(a: string, b: string, cap: number, transpositions = true): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (transpositions && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, prev2[j - 2]! + 1);
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin >= cap) return cap;
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length]!;
}
