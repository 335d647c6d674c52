import type { Position } from "../ast.ts";
import { expandWord, expandWords, type ShellEnv } from "../shell/index.ts";
import { lex } from "../shell/lexer.ts";
import type { EnvList } from "./env-list.ts";
import type { PlatformContext } from "./state.ts";

function shellEnv(env: EnvList | ShellEnv): ShellEnv {
  return typeof (env as EnvList).lookup === "function" ? (env as EnvList).lookup() : (env as ShellEnv);
}

/** True when the lexer would return the text unchanged: no variable, quote or escape in it. */
function isPlain(text: string): boolean {
  return !/[$'"\\`]/.test(text);
}

/** Expands one word of the Dockerfile; errors point at the word's position. */
export function expandAt(ctx: PlatformContext, text: string, env: EnvList | ShellEnv, pos: Position): string {
  if (isPlain(text)) return text;
  return expandWord(text, shellEnv(env), { escapeChar: ctx.escapeChar, at: { source: ctx.source, pos } });
}

/** Expands and splits into words (EXPOSE). */
export function expandWordsAt(
  ctx: PlatformContext,
  text: string,
  env: EnvList | ShellEnv,
  pos: Position,
): string[] {
  return expandWords(text, shellEnv(env), { escapeChar: ctx.escapeChar, at: { source: ctx.source, pos } });
}

/**
 * Expands a here-document body as BuildKit does for COPY/ADD: variables are replaced but quotes are plain
 * characters (the body is file content, not a shell word). Escaping the quotes before lexing gets that.
 */
export function expandHeredocBody(
  ctx: PlatformContext,
  body: string,
  env: EnvList | ShellEnv,
  pos: Position,
): string {
  let protectedText = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "\\") {
      protectedText += c + (body[i + 1] ?? "");
      i++;
    } else if (c === '"' || c === "'") protectedText += `\\${c}`;
    else protectedText += c;
  }
  return expandWord(protectedText, shellEnv(env), { escapeChar: "\\", at: { source: ctx.source, pos } });
}

/**
 * A step's text with the variables that are set replaced, for progress names only (BuildKit shows
 * `RUN GOARCH=arm64 go build` rather than `$TARGETARCH`). Never fails: on bad syntax the text is returned.
 */
export function displayText(ctx: PlatformContext, text: string, env: EnvList, keepQuotes: boolean): string {
  if (!text.includes("$")) return text;
  try {
    return lex(text, env.lookup(), {
      escapeChar: ctx.escapeChar,
      skipUnsetEnv: true,
      rawQuotes: keepQuotes,
      splitWords: false,
    }).result;
  } catch {
    return text;
  }
}
