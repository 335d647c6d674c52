/** Small number formats shared by the renderers; they follow what BuildKit's output shows. */

/** A duration as BuildKit prints it: `2.1s`. */
export function seconds(ms: number): string {
  return `${(Math.max(ms, 0) / 1000).toFixed(1)}s`;
}

/**
 * A log line's offset from its step's start, five characters wide as in BuildKit's plain output
 * (`0.512`, `17.58`, `123.4`), so the text after it lines up while the step runs.
 */
export function logOffset(ms: number): string {
  const s = Math.max(ms, 0) / 1000;
  if (s < 9.9995) return s.toFixed(3);
  if (s < 99.995) return s.toFixed(2);
  if (s < 999.95) return s.toFixed(1);
  return s.toFixed(0);
}

const byteUnits = ["kB", "MB", "GB", "TB", "PB"];

/** Decimal units with two decimals, as BuildKit shows sizes: `120B`, `2.10kB`, `28.57MB`. */
export function bytes(n: number): string {
  if (n < 1000) return `${Math.round(n)}B`;
  let value = n / 1000;
  let unit = 0;
  while (value >= 999.995 && unit < byteUnits.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(2)}${byteUnits[unit]}`;
}

/** `12.30MB / 40.00MB`, `3/10`, `120B`, or "" when there is nothing to count. */
export function amount(current: number | undefined, total: number | undefined, unit = "bytes"): string {
  const f = unit === "items" ? (n: number) => String(n) : bytes;
  if (total !== undefined && total > 0)
    return unit === "items" ? `${current ?? 0}/${total}` : `${f(current ?? 0)} / ${f(total)}`;
  if (current !== undefined && current > 0) return f(current);
  return "";
}

/** `1 step` / `12 steps`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
