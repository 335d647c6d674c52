// Shell patterns of ${V#p} ${V%p} ${V/p/r}: `*` any string, `?` one character, `\*` `\?` `\\` literal,
// `\}` and `\/` literal (the escape only protected them from ending the ${…}). Brackets are literal, as in
// BuildKit. Matching runs a small NFA over code points, so the shortest and the longest match fall out of
// one pass and no regular expression is built from user text.

const STAR = -1;
const ANY = -2;

/** A compiled pattern: code points, or STAR / ANY. */
export type Pattern = readonly number[];

export class PatternError extends Error {}

export function compilePattern(pattern: string): Pattern {
  const out: number[] = [];
  const cps = Array.from(pattern, (c) => c.codePointAt(0)!);
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (c === 0x2a) out.push(STAR);
    else if (c === 0x3f) out.push(ANY);
    else if (c === 0x5c) {
      const n = cps[i + 1];
      if (n === 0x7d || n === 0x2f) continue; // `\}` `\/`: the next iteration adds the literal
      if (n === 0x2a || n === 0x3f || n === 0x5c) {
        out.push(n);
        i++;
      } else {
        throw new PatternError(
          n === undefined
            ? "invalid escape at end of pattern"
            : `invalid escape '\\${String.fromCodePoint(n)}'`,
        );
      }
    } else out.push(c);
  }
  return out;
}

// The set of pattern positions reachable before any input, with `*` allowed to match nothing.
function closure(p: Pattern, states: Uint8Array): void {
  for (let k = 0; k < p.length; k++) if (states[k] && p[k] === STAR) states[k + 1] = 1;
}

function step(p: Pattern, states: Uint8Array, c: number): Uint8Array {
  const next = new Uint8Array(p.length + 1);
  let any = false;
  for (let k = 0; k < p.length; k++) {
    if (!states[k]) continue;
    const t = p[k]!;
    if (t === STAR) {
      next[k] = 1;
      any = true;
    } else if (t === ANY || t === c) {
      next[k + 1] = 1;
      any = true;
    }
  }
  if (any) closure(p, next);
  return next;
}

/**
 * Lengths (in code points) of the prefixes of `cps` starting at `from` that the whole pattern matches, as
 * the smallest and the largest; undefined when none does.
 */
export function matchLengths(
  p: Pattern,
  cps: readonly number[],
  from: number,
): { shortest: number; longest: number } | undefined {
  let states: Uint8Array = new Uint8Array(p.length + 1);
  states[0] = 1;
  closure(p, states);
  let shortest = -1;
  let longest = -1;
  if (states[p.length]) shortest = longest = 0;
  for (let i = from; i < cps.length; i++) {
    states = step(p, states, cps[i]!);
    if (!states.includes(1)) break;
    if (states[p.length]) {
      if (shortest < 0) shortest = i + 1 - from;
      longest = i + 1 - from;
    }
  }
  return shortest < 0 ? undefined : { shortest, longest };
}

function codePoints(s: string): number[] {
  return Array.from(s, (c) => c.codePointAt(0)!);
}

function fromCodePoints(cps: readonly number[], start = 0, end = cps.length): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCodePoint(cps[i]!);
  return s;
}

/** ${V#p} (shortest) and ${V##p} (longest): remove a matching prefix. */
export function trimPrefix(value: string, pattern: string, longest: boolean): string {
  const cps = codePoints(value);
  const m = matchLengths(compilePattern(pattern), cps, 0);
  if (!m) return value;
  return fromCodePoints(cps, longest ? m.longest : m.shortest);
}

/** ${V%p} (shortest) and ${V%%p} (longest): remove a matching suffix. */
export function trimSuffix(value: string, pattern: string, longest: boolean): string {
  const cps = codePoints(value).reverse();
  const p = [...compilePattern(pattern)].reverse();
  const m = matchLengths(p, cps, 0);
  if (!m) return value;
  cps.reverse();
  return fromCodePoints(cps, 0, cps.length - (longest ? m.longest : m.shortest));
}

/**
 * ${V/p/r} and ${V//p/r}: replace the leftmost longest match (or every non-overlapping one, left to right;
 * an empty match right after a previous match is skipped, as Go's regexp does).
 */
export function replaceMatches(value: string, pattern: string, replacement: string, all: boolean): string {
  const p = compilePattern(pattern);
  const cps = codePoints(value);
  let out = "";
  let copied = 0;
  let lastMatchEnd = -1;
  let i = 0;
  while (i <= cps.length) {
    const m = matchLengths(p, cps, i);
    if (m && !(m.longest === 0 && i === lastMatchEnd)) {
      out += fromCodePoints(cps, copied, i) + replacement;
      copied = i + m.longest;
      lastMatchEnd = copied;
      if (!all) break;
      i = m.longest === 0 ? i + 1 : copied;
      if (m.longest === 0 && i - 1 < cps.length) {
        out += fromCodePoints(cps, copied, i);
        copied = i;
      }
      continue;
    }
    i++;
  }
  return out + fromCodePoints(cps, Math.min(copied, cps.length));
}
