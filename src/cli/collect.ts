/** Commander helper for repeatable options: each use appends to the list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
