import type { SourceRange } from "../ast.ts";
import { jsonLocation } from "../outline/format.ts";
import type { LintReport } from "./lint.ts";

/**
 * `--call check` as text, laid out like buildx: a count, then each finding with its rule, doc URL, detail
 * and the Dockerfile lines around it (`>>>` marks the lines it is about).
 */
export function formatLintText(report: LintReport, source?: string): string {
  // BuildKit frames findings with the file split on "\n": a final newline gives a last, empty line.
  const lines = source?.endsWith("\n") ? [...report.lines, ""] : report.lines;
  let out = "";
  const n = report.findings.length;
  if (n > 0) out += `Check complete, ${n === 1 ? "1 warning has" : `${n} warnings have`} been found!\n`;
  for (const f of report.findings) {
    out += `\nWARNING: ${f.rule} - ${f.url}\n${f.detail}\n`;
    out += sourceExcerpt(report.file, lines, f.range);
  }
  if (report.buildError) {
    if (n > 0) out += "\n";
    out += `ERROR: ${report.buildError.message}\n`;
    const pos = report.buildError.pos;
    if (pos) out += sourceExcerpt(report.file, lines, { start: pos, end: pos });
  } else if (report.violation) {
    out += `\nERROR: ${report.violation}\n`;
  } else if (n === 0) {
    out += "Check complete, no warnings found.\n";
  }
  return out;
}

/**
 * The lines around a range, framed like BuildKit's error sources: two lines of context on each side for a
 * one-line range, one for a longer one, and the range's own lines marked `>>>`.
 */
export function sourceExcerpt(file: string, lines: readonly string[], range: SourceRange): string {
  let start = range.start.line;
  let end = Math.min(Math.max(range.end.line, start), lines.length);
  if (start < 1 || start > lines.length) return "";
  const first = start;
  const context = end === start ? 2 : 1;
  start = Math.max(1, start - context);
  end = Math.min(lines.length, end + context);
  let out = `${file}:${first}\n--------------------\n`;
  for (let i = start; i <= end; i++) {
    const marked = i >= range.start.line && i <= Math.max(range.end.line, range.start.line);
    out += ` ${String(i).padStart(3)} | ${marked ? ">>>" : "   "} ${lines[i - 1]}\n`;
  }
  return `${out}--------------------\n`;
}

/** `--call check,format=json`: BuildKit's lint result document. */
export function lintToJson(report: LintReport, source: string): unknown {
  const out: Record<string, unknown> = {
    warnings: report.findings.map((f) => ({
      ruleName: f.rule,
      description: f.description,
      url: f.url,
      detail: f.detail,
      location: { sourceIndex: 0, ...jsonLocation(f.range.start, f.range.end) },
    })),
    sources: [
      { fileName: report.file, language: "Dockerfile", data: Buffer.from(source).toString("base64") },
    ],
  };
  const error =
    report.buildError ?? (report.violation ? { message: report.violation, pos: undefined } : undefined);
  if (error) {
    out.buildError = {
      message: error.message,
      ...(error.pos ? { location: { sourceIndex: 0, ...jsonLocation(error.pos) } } : {}),
    };
  }
  return out;
}
