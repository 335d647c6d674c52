/** What a node printed, cut to one short printable line (it is another machine's text). */
export function lastLine(text: string): string {
  const lines = text
    .split("\n")
    .map((l) => l.replace(/[^\x20-\x7e]/g, "").trim())
    .filter(Boolean);
  const last = lines.at(-1) ?? "";
  return last.length > 300 ? `${last.slice(0, 300)}…` : last;
}
