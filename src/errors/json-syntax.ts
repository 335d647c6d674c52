/**
 * JSON.parse's messages quote the input around the fault (`Unexpected token 'x', "…" is not valid JSON`),
 * which for a credentials file is part of a secret. Errors say where the text is broken, never what it says.
 */
export function jsonSyntaxProblem(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : "";
  if (/Unexpected end of JSON input/.test(message)) return "invalid JSON: it ends early";
  const offset = faultOffset(message, text);
  if (offset === undefined) return "invalid JSON";
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - before.lastIndexOf("\n");
  return `invalid JSON at line ${line}, column ${column}`;
}

/** V8 gives either the offset, or only the quoted excerpt, which is found in the text to learn the offset. */
function faultOffset(message: string, text: string): number | undefined {
  const at = /at position (\d+)/.exec(message);
  if (at !== null) return Math.min(Number(at[1]), text.length);
  const quoted = /^Unexpected token '(.)', (\.\.\.)?"([\s\S]*?)"(?:\.\.\.)? is not valid JSON$/.exec(message);
  if (quoted === null) return undefined;
  const [, token, cut, excerpt] = quoted as unknown as [string, string, string | undefined, string];
  const start = text.indexOf(excerpt);
  if (start < 0) return undefined;
  // A cut excerpt starts 10 characters before the fault (V8's context width); a whole one is the text.
  const inExcerpt = cut !== undefined && excerpt[10] === token ? 10 : excerpt.indexOf(token);
  return start + Math.max(inExcerpt, 0);
}
