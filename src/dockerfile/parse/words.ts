// The ways BuildKit cuts an instruction's arguments into words before any expansion. Every word keeps the
// offset where it starts in the logical line.

import { isGoSpace } from "../shell/chars.ts";
import { isSplitBlank } from "./split-command.ts";

export interface OffsetWord {
  value: string;
  start: number;
}

/** Splits on runs of blanks (space, tab, \v, \f, \r) without looking at quotes (FROM, EXPOSE, COPY…). */
export function splitOnBlanks(text: string, base: number): OffsetWord[] {
  const out: OffsetWord[] = [];
  if (text === "") return out;
  let i = 0;
  let start = 0;
  for (;;) {
    if (i === text.length || isSplitBlank(text.charCodeAt(i))) {
      out.push({ value: text.slice(start, i), start: base + start });
      if (i === text.length) return out;
      while (i < text.length && isSplitBlank(text.charCodeAt(i))) i++;
      start = i;
      continue;
    }
    i++;
  }
}

/** Splits in two at the first run of blanks (legacy `ENV key value`). */
export function splitOnceOnBlanks(text: string, base: number): OffsetWord[] {
  let i = 0;
  while (i < text.length && !isSplitBlank(text.charCodeAt(i))) i++;
  if (i === text.length) return [{ value: text, start: base }];
  let j = i;
  while (j < text.length && isSplitBlank(text.charCodeAt(j))) j++;
  return [
    { value: text.slice(0, i), start: base },
    { value: text.slice(j), start: base + j },
  ];
}

/**
 * Splits on blanks outside quotes, keeping quotes and escapes in the words (ARG, ENV, LABEL): the shell
 * lexer removes them later, when the word is expanded.
 */
export function splitQuotedWords(text: string, base: number, escapeChar: string): OffsetWord[] {
  const esc = escapeChar.charCodeAt(0);
  const out: OffsetWord[] = [];
  let word = "";
  let start = -1;
  let quote = 0;
  let blankOk = false;
  let i = 0;
  const flush = () => {
    if (blankOk || word.length > 0) out.push({ value: word, start: base + start });
    word = "";
    start = -1;
    blankOk = false;
  };
  while (i < text.length) {
    const cp = text.codePointAt(i)!;
    const w = cp > 0xffff ? 2 : 1;
    if (quote === 0) {
      if (isGoSpace(cp)) {
        if (start >= 0) flush();
        i += w;
        continue;
      }
      if (start < 0) start = i;
      if (cp === 0x27 || cp === 0x22) {
        quote = cp;
        blankOk = true;
      } else if (cp === esc) {
        if (i + w === text.length) {
          i += w; // an escape at the very end is dropped
          continue;
        }
        word += text.slice(i, i + w);
        i += w;
        const n = text.codePointAt(i)!;
        const nw = n > 0xffff ? 2 : 1;
        word += text.slice(i, i + nw);
        i += nw;
        continue;
      }
      word += text.slice(i, i + w);
      i += w;
      continue;
    }
    if (cp === quote) quote = 0;
    else if (cp === esc && quote !== 0x27) {
      if (i + w === text.length) {
        quote = 0;
        i += w;
        continue;
      }
      word += text.slice(i, i + w);
      i += w;
      const n = text.codePointAt(i)!;
      const nw = n > 0xffff ? 2 : 1;
      word += text.slice(i, i + nw);
      i += nw;
      continue;
    }
    word += text.slice(i, i + w);
    i += w;
  }
  if (start >= 0) flush();
  return out;
}

export type MaybeJson = { json: true; values: string[] } | { json: false } | { json: "not-strings" };

/**
 * Reads the exec (JSON array) form as BuildKit does: the whole rest of the line is decoded as one JSON
 * value (Go's json.Unmarshal into a slice), so an array followed by more text, or a value that is not an
 * array, is the shell form; only a well-formed array holding something else than strings is an error
 * (`json: "not-strings"`).
 */
export function parseJsonArray(text: string): MaybeJson {
  if (text.charCodeAt(0) !== 0x5b) return { json: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { json: false };
  }
  if (!Array.isArray(parsed)) return { json: false };
  if (!parsed.every((v) => typeof v === "string")) return { json: "not-strings" };
  return { json: true, values: parsed as string[] };
}
