// The Dockerfile shell lexer: quote removal, escapes and $-expansion of one word, optionally split into
// several words. It follows BuildKit's frontend/dockerfile/shell semantics (not a POSIX shell): no command
// substitution, no globbing, `\` (or the `# escape` character) escapes anything outside quotes, and only
// `"` `$` and the escape character inside double quotes.

import { isGoDigit, isGoLetter, isGoSpace } from "./chars.ts";
import { PatternError, replaceMatches, trimPrefix, trimSuffix } from "./pattern.ts";

/** Looks a variable up: its value, or undefined when it is not set. */
export type Lookup = (name: string) => string | undefined;

export interface LexOptions {
  /** The escape character: `\` (default) or a backtick. */
  escapeChar?: string;
  /** Keep quote characters in the output (used to find heredoc words and whether they were quoted). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
  /** Leave references to unset variables as written instead of replacing them with "". */
  skipUnsetEnv?: boolean;
  /** Treat quotes as ordinary characters (BuildKit's SkipProcessQuotes, for heredoc bodies). */
  skipProcessQuotes?: boolean;
  /** Called with each variable name as soon as it is read, before any nested word is processed. */
  onName?: (name: string) => void;
  /** False when only `result` is needed: the text is then not split, and `words`/`wordStarts` are empty. */
  splitWords?: boolean;
}

export interface LexResult {
  /** The expanded text as one word (spaces between words kept). */
  result: string;
  /** The expanded text split into words: unquoted blanks, including those from expansions, separate. */
  words: string[];
  /** For each of `words`, the offset in the source where it starts. */
  wordStarts: number[];
  /** Variables that were looked up and set. */
  matched: Set<string>;
  /** Variables that were looked up and not set. */
  unmatched: Set<string>;
}

/** A syntax or expansion error at `offset` (UTF-16 index into the processed text). */
export class ShellSyntaxError extends Error {
  override name = "ShellSyntaxError";
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

const EOF = -1;
const DOLLAR = 0x24;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const SQUOTE = 0x27;
const DQUOTE = 0x22;
const LT = 0x3c;

// Builds the split words: blanks coming from the text (or from an expansion) end a word, quoted text and
// escaped characters never do.
class Words {
  words: string[] = [];
  starts: number[] = [];
  private buf = "";
  private inWord = false;
  private start = 0;

  addChar(ch: string, cp: number, at: number): void {
    if (isGoSpace(cp)) {
      if (this.inWord && this.buf.length > 0) {
        this.words.push(this.buf);
        this.starts.push(this.start);
        this.buf = "";
        this.inWord = false;
      }
    } else this.addRaw(ch, at);
  }

  addRaw(s: string, at: number): void {
    if (this.buf.length === 0) this.start = at;
    this.buf += s;
    this.inWord = true;
  }

  addExpanded(s: string, at: number): void {
    for (const ch of s) this.addChar(ch, ch.codePointAt(0)!, at);
  }

  finish(): void {
    if (this.buf.length > 0) {
      this.words.push(this.buf);
      this.starts.push(this.start);
      this.buf = "";
      this.inWord = false;
    }
  }
}

class Lexer {
  private readonly src: string;
  private pos = 0;
  private readonly escape: number;
  private readonly rawQuotes: boolean;
  private rawEscapes: boolean;
  private readonly skipUnset: boolean;
  private readonly quotes: boolean;
  private readonly lookup: Lookup;
  private readonly onName: ((name: string) => void) | undefined;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(src: string, lookup: Lookup, opts: LexOptions) {
    this.src = src;
    this.lookup = lookup;
    this.escape = (opts.escapeChar ?? "\\").codePointAt(0)!;
    this.rawQuotes = opts.rawQuotes ?? false;
    this.rawEscapes = opts.rawEscapes ?? false;
    this.skipUnset = opts.skipUnsetEnv ?? false;
    this.onName = opts.onName;
    this.quotes = !(opts.skipProcessQuotes ?? false);
  }

  private peek(): number {
    return this.pos < this.src.length ? this.src.codePointAt(this.pos)! : EOF;
  }

  private next(): number {
    if (this.pos >= this.src.length) return EOF;
    const cp = this.src.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  run(splitWords: boolean): LexResult {
    const words = splitWords ? new Words() : undefined;
    const text = this.until(EOF, this.rawEscapes, words);
    return {
      result: text,
      words: words?.words ?? [],
      wordStarts: words?.starts ?? [],
      matched: this.matched,
      unmatched: this.unmatched,
    };
  }

  // Processes text up to `stop` (consumed) or the end; a missing `stop` is an error. `words`, when given,
  // receives the text split into words (only the outermost text is split).
  private until(stop: number, rawEscapes: boolean, words: Words | undefined): string {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let text = "";
      const src = this.src;
      const begin = this.pos;
      for (;;) {
        const ch = this.peek();
        if (ch === EOF) break;
        const at = this.pos;
        if (stop !== EOF && ch === stop) {
          this.next();
          words?.finish();
          return text;
        }
        if (ch === DOLLAR) {
          const v = this.dollar();
          text += v;
          words?.addExpanded(v, at);
        } else if ((ch === SQUOTE || ch === DQUOTE) && this.quotes) {
          const v = ch === SQUOTE ? this.singleQuoted() : this.doubleQuoted();
          text += v;
          words?.addRaw(v, at);
        } else if (ch === LT) {
          const v = this.possibleHeredoc();
          text += v;
          words?.addRaw(v, at);
        } else if (ch === this.escape) {
          this.next();
          if (this.rawEscapes) {
            const e = String.fromCodePoint(ch);
            words?.addRaw(e, at);
            text += e;
          }
          const c = this.next();
          if (c === EOF) break;
          const s = String.fromCodePoint(c);
          words?.addRaw(s, at);
          text += s;
        } else if (words !== undefined && isGoSpace(ch)) {
          this.next();
          words.addChar(String.fromCodePoint(ch), ch, at);
          text += String.fromCodePoint(ch);
        } else {
          // A run of ordinary characters is copied as one slice rather than character by character.
          this.pos = this.plainRunEnd(stop, words !== undefined);
          const s = src.slice(at, this.pos);
          words?.addRaw(s, at);
          text += s;
        }
      }
      if (stop !== EOF) {
        throw new ShellSyntaxError(
          `unexpected end of statement while looking for matching ${String.fromCodePoint(stop)}`,
          begin,
        );
      }
      words?.finish();
      return text;
    } finally {
      this.rawEscapes = saved;
    }
  }

  // Where the run of ordinary characters at `pos` ends: at `stop`, `$`, a quote (when quotes are processed),
  // `<`, the escape character, a blank when words are split, or the end. The first character is ordinary.
  private plainRunEnd(stop: number, splitting: boolean): number {
    const src = this.src;
    const end = src.length;
    let i = this.pos;
    for (;;) {
      const cp = src.codePointAt(i)!;
      i += cp > 0xffff ? 2 : 1;
      if (i >= end) return end;
      const c = src.codePointAt(i)!;
      if (
        c === stop ||
        c === DOLLAR ||
        c === LT ||
        c === this.escape ||
        ((c === SQUOTE || c === DQUOTE) && this.quotes) ||
        (splitting && isGoSpace(c))
      )
        return i;
    }
  }

  private singleQuoted(): string {
    const start = this.pos;
    const close = this.src.indexOf("'", start + 1);
    if (close < 0) {
      this.pos = this.src.length;
      throw new ShellSyntaxError(
        "unexpected end of statement while looking for matching single-quote",
        start,
      );
    }
    this.pos = close + 1;
    const body = this.src.slice(start + 1, close);
    return this.rawQuotes ? `'${body}'` : body;
  }

  private doubleQuoted(): string {
    const start = this.pos;
    this.next();
    let out = this.rawQuotes ? '"' : "";
    for (;;) {
      const p = this.peek();
      if (p === EOF) {
        throw new ShellSyntaxError(
          "unexpected end of statement while looking for matching double-quote",
          start,
        );
      }
      if (p === DQUOTE) {
        this.next();
        return this.rawQuotes ? `${out}"` : out;
      }
      if (p === DOLLAR) {
        out += this.dollar();
        continue;
      }
      if (p !== this.escape) {
        // Ordinary characters up to the next quote, `$` or escape are copied as one slice.
        const from = this.pos;
        this.next();
        for (;;) {
          const c = this.peek();
          if (c === EOF || c === DQUOTE || c === DOLLAR || c === this.escape) break;
          this.next();
        }
        out += this.src.slice(from, this.pos);
        continue;
      }
      let c = this.next();
      if (this.rawEscapes) out += String.fromCodePoint(c);
      const n = this.peek();
      if (n === EOF) continue; // a trailing escape is dropped; the loop then reports the missing quote
      if (n === DQUOTE || n === DOLLAR || n === this.escape) c = this.next();
      out += String.fromCodePoint(c);
    }
  }

  // `<<` followed by blanks stays one piece, so that `<< EOF` is seen as one heredoc word.
  private possibleHeredoc(): string {
    this.next();
    if (this.peek() !== LT) return "<";
    this.next();
    let out = "<<";
    for (;;) {
      const c = this.peek();
      if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return out;
      out += String.fromCodePoint(c);
      this.next();
    }
  }

  private get(name: string): string | undefined {
    const v = this.lookup(name);
    if (v === undefined) this.unmatched.add(name);
    else this.matched.add(name);
    return v;
  }

  private dollar(): string {
    const start = this.pos;
    this.next();
    if (this.peek() !== LBRACE) {
      const name = this.name();
      if (name === "") return "$";
      this.onName?.(name);
      const v = this.get(name);
      if (v === undefined) return this.skipUnset ? `$${name}` : "";
      return v;
    }
    this.next();
    const first = this.peek();
    if (first === EOF) throw new ShellSyntaxError("syntax error: missing '}'", start);
    if (first === LBRACE || first === RBRACE || first === 0x3a) {
      throw new ShellSyntaxError("syntax error: bad substitution", start);
    }
    const name = this.name();
    this.onName?.(name);
    let op = this.next();
    let ops = op === EOF ? "" : String.fromCodePoint(op);
    if (op === RBRACE) {
      const v = this.get(name);
      if (v === undefined) return this.skipUnset ? `\${${name}}` : "";
      return v;
    }
    let nullIsUnset = false;
    if (op === 0x3a) {
      nullIsUnset = true;
      op = this.next();
      if (op !== EOF) ops += String.fromCodePoint(op);
    }
    // + - ? # %, or anything after `:` (which BuildKit reads to the `}` before rejecting it)
    if (nullIsUnset || op === 0x2b || op === 0x2d || op === 0x3f || op === 0x23 || op === 0x25) {
      const patternOp = op === 0x23 || op === 0x25;
      if (nullIsUnset && patternOp) {
        throw new ShellSyntaxError(`unsupported modifier (${ops}) in substitution`, start);
      }
      let word = this.wordUntil(RBRACE, patternOp, start, "syntax error: missing '}'");
      const v = this.get(name);
      if (this.skipUnset && v === undefined) return `\${${name}${ops}${word}}`;
      const empty = v === undefined || (nullIsUnset && v === "");
      switch (op) {
        case 0x2d:
          return empty ? word : v!;
        case 0x2b:
          return empty ? "" : word;
        case 0x3f:
          if (v === undefined) {
            throw new ShellSyntaxError(`${name}: ${word || "is not allowed to be unset"}`, start);
          }
          if (nullIsUnset && v === "") {
            throw new ShellSyntaxError(`${name}: ${word || "is not allowed to be empty"}`, start);
          }
          return v;
        case 0x23:
        case 0x25: {
          let longest = false;
          if (word.length > 0 && word.codePointAt(0) === op) {
            longest = true;
            word = word.slice(1);
          }
          try {
            return op === 0x25 ? trimSuffix(v ?? "", word, longest) : trimPrefix(v ?? "", word, longest);
          } catch (e) {
            if (e instanceof PatternError) {
              throw new ShellSyntaxError(`invalid pattern (${word}) in substitution: ${e.message}`, start);
            }
            throw e;
          }
        }
        default:
          throw new ShellSyntaxError(`unsupported modifier (${ops}) in substitution`, start);
      }
    }
    if (op === 0x2f) {
      const all = this.peek() === 0x2f;
      if (all) this.next();
      // biome-ignore lint/suspicious/noTemplateCurlyInString: BuildKit's message, shell syntax
      const pattern = this.wordUntil(0x2f, true, start, "syntax error: missing '/' in ${}");
      const replacement = this.wordUntil(RBRACE, true, start, "syntax error: missing '}'");
      const v = this.get(name);
      if (this.skipUnset && v === undefined) return `\${${name}/${pattern}/${replacement}}`;
      try {
        return replaceMatches(v ?? "", pattern, replacement, all);
      } catch (e) {
        if (e instanceof PatternError) {
          throw new ShellSyntaxError(`invalid pattern (${pattern}) in substitution: ${e.message}`, start);
        }
        throw e;
      }
    }
    if (op === EOF) throw new ShellSyntaxError("syntax error: missing '}'", start);
    throw new ShellSyntaxError(`unsupported modifier (${ops}) in substitution`, start);
  }

  // The word inside ${…} after the operator; running out of text means the closing character is missing.
  private wordUntil(stop: number, rawEscapes: boolean, start: number, missing: string): string {
    try {
      return this.until(stop, rawEscapes, undefined);
    } catch (e) {
      if (e instanceof ShellSyntaxError && this.peek() === EOF) throw new ShellSyntaxError(missing, start);
      throw e;
    }
  }

  // A variable name: letters, digits and `_`; or a run of digits; or one special parameter character.
  private name(): string {
    const start = this.pos;
    const first = this.peek();
    if (first === EOF) return "";
    if (isGoDigit(first)) {
      while (this.peek() !== EOF && isGoDigit(this.peek())) this.next();
      return this.src.slice(start, this.pos);
    }
    if (isSpecialParam(first)) return String.fromCodePoint(this.next());
    for (;;) {
      const c = this.peek();
      if (c === EOF || (!isGoLetter(c) && !isGoDigit(c) && c !== 0x5f)) break;
      this.next();
    }
    return this.src.slice(start, this.pos);
  }
}

function isSpecialParam(c: number): boolean {
  // @ * # ? - $ ! 0
  return (
    c === 0x40 ||
    c === 0x2a ||
    c === 0x23 ||
    c === 0x3f ||
    c === 0x2d ||
    c === 0x24 ||
    c === 0x21 ||
    c === 0x30
  );
}

/** Runs the lexer over `src`. Throws ShellSyntaxError for malformed text or a failing `${V?msg}`. */
export function lex(src: string, lookup: Lookup, opts: LexOptions = {}): LexResult {
  return new Lexer(src, lookup, opts).run(opts.splitWords ?? true);
}
