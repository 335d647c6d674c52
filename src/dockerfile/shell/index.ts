/**
 * Shell-word expansion as the Dockerfile reference defines it (and BuildKit's shell lexer implements it):
 * `$V ${V}`, `${V:-w} ${V-w} ${V:+w} ${V+w} ${V:?msg} ${V?msg}`, `${V#p} ${V##p} ${V%p} ${V%%p}`,
 * `${V/p/r} ${V//p/r}`, single and double quotes, and escapes with the file's escape character.
 */

import { UserError } from "../../errors/user-error.ts";
import type { EscapeChar, Position } from "../ast.ts";
import { DockerfileError, type DockerfileSource } from "../errors.ts";
import { type LexOptions, type Lookup, lex, ShellSyntaxError } from "./lexer.ts";

/** Variables visible to an expansion: a map, a plain record, or a lookup function (undefined = unset). */
export type ShellEnv =
  | ReadonlyMap<string, string>
  | Readonly<Record<string, string>>
  | ((name: string) => string | undefined);

export interface ExpandOptions {
  /** The file's escape character (`DockerfileAst.escapeChar`); `\` by default. */
  escapeChar?: EscapeChar;
  /** Leave references to unset variables as written (`$X`, `${X:-y}`) instead of expanding them to "". */
  skipUnsetEnv?: boolean;
  /**
   * False to keep quote characters as ordinary text (only `$` and escapes are processed), as BuildKit
   * expands the body of a COPY/ADD heredoc whose delimiter was not quoted. Default true.
   */
  processQuotes?: boolean;
  /**
   * Where the text starts in the Dockerfile. With it, errors are DockerfileErrors pointing at the offending
   * `$` (columns assume the text sits on one line from `pos`); without it, plain UserErrors.
   */
  at?: { source: DockerfileSource; pos: Position };
}

export interface ExpansionResult {
  /** The text expanded as one word. */
  value: string;
  /** The text expanded and split into words (unquoted blanks separate words, also inside values). */
  words: string[];
  /** Names that were looked up and set. */
  matched: Set<string>;
  /** Names that were looked up and not set (the linter's "undefined variable"). */
  unmatched: Set<string>;
}

function toLookup(env: ShellEnv): Lookup {
  if (typeof env === "function") return env;
  if (env instanceof Map) return (name) => env.get(name);
  const rec = env as Readonly<Record<string, string>>;
  return (name) => (Object.hasOwn(rec, name) ? rec[name] : undefined);
}

function run(text: string, env: ShellEnv, opts: ExpandOptions, extra: LexOptions = {}) {
  try {
    return lex(text, toLookup(env), {
      escapeChar: opts.escapeChar ?? "\\",
      skipUnsetEnv: opts.skipUnsetEnv ?? false,
      skipProcessQuotes: opts.processQuotes === false,
      ...extra,
    });
  } catch (e) {
    if (e instanceof ShellSyntaxError) throw expansionError(text, e, opts);
    throw e;
  }
}

function expansionError(text: string, e: ShellSyntaxError, opts: ExpandOptions): UserError {
  const message = `failed to process ${JSON.stringify(text)}: ${e.message}`;
  const hint = hintFor(e.message);
  if (opts.at) {
    const pos = { line: opts.at.pos.line, column: opts.at.pos.column + e.offset };
    return new DockerfileError(message, opts.at.source, pos, hint === undefined ? {} : { hint });
  }
  return new UserError(message, hint === undefined ? {} : { hint });
}

function hintFor(message: string): string | undefined {
  if (message.includes("matching single-quote") || message.includes("matching double-quote")) {
    return "close the quote, or escape it if it is meant literally";
  }
  if (message.includes("missing '}'") || message.includes("bad substitution")) {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax shown to the user
    return "write variables as $NAME or ${NAME}, or escape the $ to keep it literally";
  }
  if (message.includes("unsupported modifier")) {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax shown to the user
    return "supported forms: ${V:-w} ${V-w} ${V:+w} ${V+w} ${V:?m} ${V?m} ${V#p} ${V##p} ${V%p} ${V%%p} ${V/p/r} ${V//p/r}";
  }
  return undefined;
}

/** Expands `text` as one word: quotes removed, variables replaced, blanks kept. */
export function expandWord(text: string, env: ShellEnv, opts: ExpandOptions = {}): string {
  return run(text, env, opts, { splitWords: false }).result;
}

/** Expands `text` and splits it into words, as EXPOSE and similar instructions need. */
export function expandWords(text: string, env: ShellEnv, opts: ExpandOptions = {}): string[] {
  return run(text, env, opts).words;
}

/** Expands `text` and also reports which variables were found and which were not. */
export function expandWithMatches(text: string, env: ShellEnv, opts: ExpandOptions = {}): ExpansionResult {
  const r = run(text, env, opts);
  return { value: r.result, words: r.words, matched: r.matched, unmatched: r.unmatched };
}

const specialParams = new Set(["@", "*", "#", "?", "-", "$", "!"]);

/**
 * The variable names `text` refers to, in order of first appearance, whatever their values: the names in
 * every branch (`${A:-$B}` gives A and B). Positional and special parameters ($1, $@, $$…) are left out.
 * Throws like `expandWord` when the text is malformed.
 */
export function referencedVariables(text: string, opts: Omit<ExpandOptions, "skipUnsetEnv"> = {}): string[] {
  const seen: string[] = [];
  const set = new Set<string>();
  // Every name looks set and non-empty, so that `${V:?}` never fails and every nested word is visited.
  const onName = (name: string): void => {
    if (name !== "" && !set.has(name) && !specialParams.has(name) && !/^[0-9]/.test(name)) {
      set.add(name);
      seen.push(name);
    }
  };
  run(text, () => "x", opts, { onName });
  return seen;
}

export type { Lookup } from "./lexer.ts";
