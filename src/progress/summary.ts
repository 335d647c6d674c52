import type { BuildDoneEvent, WarningEvent } from "./events.ts";
import { plural, seconds } from "./format.ts";

/**
 * The closing per-platform summary every mode but quiet prints, columns aligned:
 *
 *     linux/amd64  12 steps (9 cached)   3.1s
 *     linux/arm64  12 steps (9 cached)  14.2s (11.0s emulated)
 */
export function summaryLines(done: BuildDoneEvent): string[] {
  if (done.platforms.length === 0) return [];
  const rows = done.platforms.map((p) => ({
    platform: p.platform,
    steps: plural(p.steps, "step") + (p.cached > 0 ? ` (${p.cached} cached)` : ""),
    time: seconds(p.durationMs),
    emulated: p.emulatedMs > 0 ? ` (${seconds(p.emulatedMs)} emulated)` : "",
  }));
  const w = (key: "platform" | "steps" | "time") => Math.max(...rows.map((r) => r[key].length));
  const [wp, ws, wt] = [w("platform"), w("steps"), w("time")];
  return rows.map(
    (r) => `${r.platform.padEnd(wp)}  ${r.steps.padEnd(ws)}  ${r.time.padStart(wt)}${r.emulated}`,
  );
}

/** Where a warning points, as `Dockerfile:5:3`. */
function where(w: WarningEvent): string {
  const l = w.location;
  if (!l) return "";
  return ` (${l.file}:${l.line}${l.column === undefined ? "" : `:${l.column}`})`;
}

/** One line for a warning: `message (Dockerfile:5)`, with its detail and link on following lines. */
export function warningText(w: WarningEvent): string[] {
  const lines = [`${w.message}${where(w)}`];
  if (w.detail) lines.push(...w.detail.split("\n").map((l) => `  ${l}`));
  if (w.url) lines.push(`  More info: ${w.url}`);
  return lines;
}

/** A warning in one line, as BuildKit's `short` reads: `JSONArgsRecommended: … (line 5)`. */
export function warningShort(w: WarningEvent): string {
  return w.location ? `${w.message} (line ${w.location.line})` : w.message;
}

/**
 * The list of warnings after a build, in buildx's words: a count, then each warning's one line; `expand`
 * (--debug) adds each one's detail and link below it, as `docker --debug buildx build` does.
 */
export function warningLines(warnings: readonly WarningEvent[], expand = false): string[] {
  if (warnings.length === 0) return [];
  const lines = [` ${plural(warnings.length, "warning")} found${expand ? "" : " (use --debug to expand)"}:`];
  for (const [i, w] of warnings.entries()) {
    if (expand && i > 0) lines.push("");
    lines.push(` - ${warningShort(w)}`);
    if (!expand) continue;
    if (w.detail) lines.push(...w.detail.split("\n"));
    if (w.url) lines.push(`More info: ${w.url}`);
  }
  return lines;
}

/**
 * A failed step and the last lines it printed, framed as BuildKit frames them after a live view (whose
 * redrawn log tail is gone once the step has ended). The error itself is the caller's to print: the CLI
 * reports the build's error once, below this.
 */
export function errorBlock(name: string, tail: readonly { offset: string; text: string }[]): string[] {
  const lines = ["------", ` > ${name}:`];
  for (const l of tail) lines.push(`${l.offset} ${l.text}`);
  lines.push("------");
  return lines;
}
