import { defaultStateDir } from "../content/paths.ts";
import { asEnvironmentError } from "../errors/environment-error.ts";
import { isUserError } from "../errors/user-error.ts";

/**
 * Scrubs credentials that must never reach a terminal or log, even in --debug output. A key must start a
 * word, so a name that ends in one (`secret mysecret: not found`) is not taken for a key.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/(authorization:\s*)(bearer|basic)\s+[^\s"',]+/gi, "$1$2 [redacted]")
    .replace(
      /((?<![\w-])"?(?:password|token|access_token|refresh_token|auth|identitytoken|secret)"?\s*[:=]\s*"?)[^"\s,}&]+/gi,
      "$1[redacted]",
    )
    .replace(/(\/\/[^/\s:@]+:)[^@/\s]+@/g, "$1[redacted]@");
}

/**
 * Formats an error for the terminal: one line for user errors (with location and hint), full detail for bugs.
 * A full disk, a denied permission or a missing program is the machine's state, not a bug, wherever it
 * surfaced and however it was wrapped: it is shown as a user error that names the place and what to do.
 */
export function formatError(e: unknown, debug: boolean, env: NodeJS.ProcessEnv = process.env): string {
  e = asEnvironmentError(e, { stateDir: defaultStateDir(env) }) ?? e;
  const lines: string[] = [];
  if (isUserError(e)) {
    const loc = e.location;
    lines.push(loc ? `error: ${loc.file}:${loc.line}:${loc.column}: ${e.message}` : `error: ${e.message}`);
    if (loc?.source !== undefined) {
      const gutter = `${loc.line} | `;
      lines.push(` ${gutter}${loc.source}`);
      lines.push(` ${" ".repeat(gutter.length)}${" ".repeat(Math.max(0, loc.column - 1))}^`);
    }
    if (e.hint) lines.push(`hint: ${e.hint}`);
    if (debug && e.stack) lines.push(e.stack);
    if (debug && e.cause)
      lines.push(`cause: ${e.cause instanceof Error ? (e.cause.stack ?? e.cause.message) : String(e.cause)}`);
  } else if (e instanceof Error) {
    lines.push(`error: ${e.message}`);
    lines.push(
      debug
        ? (e.stack ?? "")
        : "hint: this looks like a bug in polyarch; run again with --debug and report the output",
    );
  } else {
    lines.push(`error: ${String(e)}`);
  }
  return redactSecrets(lines.filter(Boolean).join("\n"));
}
