/** Masks known secret values in text shown to the user. */
export interface Redactor {
  (text: string): string;
  /**
   * Length of the longest value masked (0 when there is nothing to mask): text held back at the end of a
   * buffer must be at least this long minus one, so a value split across two chunks is still caught.
   */
  readonly longest: number;
}

export const MASK = "***";

export function createRedactor(values: readonly string[]): Redactor {
  const needles = new Set<string>();
  for (const value of values) {
    if (value === "") continue;
    needles.add(value);
    // A multi-line value (a key file) reaches the logs one line at a time: mask each of its lines too.
    for (const line of value.split(/\r?\n/)) if (line.trim() !== "") needles.add(line);
  }
  // Longest first, so a value that contains another is masked whole.
  const sorted = [...needles].sort((a, b) => b.length - a.length);
  const redact = (text: string): string => {
    let out = text;
    for (const needle of sorted) if (out.includes(needle)) out = out.split(needle).join(MASK);
    return out;
  };
  return Object.assign(redact, { longest: sorted[0]?.length ?? 0 });
}
