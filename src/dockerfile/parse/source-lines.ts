/** One line of the file: `text` without its line terminator, `raw` with it (heredoc bodies keep it). */
export interface PhysicalLine {
  text: string;
  raw: string;
}

/**
 * Splits a Dockerfile into lines the way BuildKit reads it: on "\n" only, a UTF-8 byte-order mark removed
 * from the start, trailing "\r"s (CRLF files) removed from `text` but kept in `raw`.
 */
export function splitLines(input: string): PhysicalLine[] {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const lines: PhysicalLine[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf("\n", start);
    const end = nl < 0 ? text.length : nl + 1;
    const raw = text.slice(start, end);
    let j = nl < 0 ? raw.length : raw.length - 1;
    while (j > 0 && raw.charCodeAt(j - 1) === 0x0d) j--;
    lines.push({ text: raw.slice(0, j), raw });
    start = end;
  }
  return lines;
}
