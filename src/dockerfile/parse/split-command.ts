// Splits an instruction line into its keyword, its leading `--flags` and the rest, as BuildKit's parser
// does, keeping the offset of every piece so that errors can point at it.

import { isGoSpace } from "../shell/chars.ts";

/** A flag word as BuildKit extracts it: quotes and `\` escapes removed, e.g. `--mount=type=cache`. */
export interface RawFlag {
  text: string;
  /** Offset of the first `-` in the line. */
  start: number;
  /** Offset just after the flag as written. */
  end: number;
  /** Offset (in the line) of the first `=` outside quotes, or -1. */
  eqAt: number;
}

export interface SplitCommand {
  keyword: string;
  keywordStart: number;
  flags: RawFlag[];
  /** The arguments after the flags, blanks trimmed at both ends. */
  args: string;
  argsStart: number;
}

// Blanks that separate the keyword from its arguments (BuildKit's [\t\v\f\r ]+).
export function isSplitBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0b || c === 0x0c || c === 0x0d;
}

function skipGoSpace(s: string, i: number, end: number): number {
  while (i < end && isGoSpace(s.codePointAt(i)!)) i += s.codePointAt(i)! > 0xffff ? 2 : 1;
  return i;
}

function trimEnd(s: string, from: number): number {
  let j = s.length;
  while (j > from && isGoSpace(s.charCodeAt(j - 1))) j--;
  return j;
}

/**
 * Splits `line` (from offset `from`) into keyword, flags and arguments. `escapeChar` is the file's escape
 * character (`# escape=`), which escapes inside flag values as it does elsewhere.
 */
export function splitCommand(line: string, from = 0, escapeChar = "\\"): SplitCommand {
  const end = trimEnd(line, from);
  const kwStart = skipGoSpace(line, from, end);
  let kwEnd = kwStart;
  while (kwEnd < end && !isSplitBlank(line.charCodeAt(kwEnd))) kwEnd++;
  let restStart = kwEnd;
  while (restStart < end && isSplitBlank(line.charCodeAt(restStart))) restStart++;
  const { flags, argsStart } = extractFlags(line, restStart, end, escapeChar.charCodeAt(0));
  const aStart = skipGoSpace(line, argsStart, end);
  return {
    keyword: line.slice(kwStart, kwEnd),
    keywordStart: kwStart,
    flags,
    args: line.slice(aStart, end),
    argsStart: aStart,
  };
}

// Reads words starting with `--` until the first word that does not (or a lone `--`, which ends the flags).
// Inside a flag, quotes group and the escape character escapes, and both are removed.
function extractFlags(
  s: string,
  from: number,
  end: number,
  esc: number,
): { flags: RawFlag[]; argsStart: number } {
  const flags: RawFlag[] = [];
  let i = from;
  for (;;) {
    while (i < end && isGoSpace(s.charCodeAt(i))) i++;
    if (i >= end) return { flags, argsStart: end };
    if (!(s.charCodeAt(i) === 0x2d && i + 1 < end && s.charCodeAt(i + 1) === 0x2d)) {
      return { flags, argsStart: i };
    }
    const start = i;
    let text = "";
    let eqAt = -1;
    let quote = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (quote === 0) {
        if (isGoSpace(c)) break;
        if (c === 0x27 || c === 0x22) {
          quote = c;
          i++;
          continue;
        }
        if (c === 0x3d && eqAt < 0) eqAt = i;
      } else if (c === quote) {
        quote = 0;
        i++;
        continue;
      }
      if (c === esc) {
        i++;
        if (i >= end) break;
      }
      text += s[i];
      i++;
    }
    if (text === "--") {
      // `--` alone ends the flags; the arguments start after it
      return { flags, argsStart: Math.min(i, end) };
    }
    flags.push({ text, start, end: i, eqAt });
  }
}
