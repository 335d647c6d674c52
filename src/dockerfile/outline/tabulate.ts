/**
 * Aligns rows into columns the way Go's text/tabwriter does for buildx's tables: every column but the
 * last is padded to its widest cell plus `padding` spaces. Trailing blanks are trimmed from each line.
 */
export function tabulate(rows: readonly (readonly string[])[], padding: number): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i < row.length - 1) widths[i] = Math.max(widths[i] ?? 0, displayWidth(cell));
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) =>
          i < row.length - 1 ? cell + " ".repeat(widths[i]! - displayWidth(cell) + padding) : cell,
        )
        .join("")
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join("");
}

// Code points, not UTF-16 units, so that a description with accents or emoji does not skew the columns.
function displayWidth(s: string): number {
  return [...s].length;
}
