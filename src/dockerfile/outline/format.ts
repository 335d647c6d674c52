import type { Position } from "../ast.ts";
import type { Outline } from "./outline.ts";
import { tabulate } from "./tabulate.ts";
import type { TargetInfo } from "./targets.ts";

/** `--call outline` as text, laid out like buildx: a TARGET header, then the BUILD ARG, SECRET and SSH tables. */
export function formatOutlineText(o: Outline): string {
  let out = "";
  if (o.name || o.description) {
    const head: string[][] = [["TARGET:", o.name || "(default)"]];
    if (o.description) head.push(["DESCRIPTION:", o.description]);
    out += `${tabulate(head, 1)}\n`;
  }
  if (o.args.length > 0) {
    out += `${tabulate([["BUILD ARG", "VALUE", "DESCRIPTION"], ...o.args.map((a) => [a.name, a.value, a.description])], 3)}\n`;
  }
  if (o.secrets.length > 0) {
    out += `${tabulate([["SECRET", "REQUIRED"], ...o.secrets.map((s) => [s.name, s.required ? "true" : ""])], 3)}\n`;
  }
  if (o.ssh.length > 0) {
    out += `${tabulate([["SSH", "REQUIRED"], ...o.ssh.map((s) => [s.name, s.required ? "true" : ""])], 3)}\n`;
  }
  return out;
}

/** `--call targets` as text: one line per stage, the default one marked. */
export function formatTargetsText(targets: readonly TargetInfo[]): string {
  const rows = targets.map((t) => {
    const name =
      t.name === undefined ? (t.default ? "(default)" : "") : t.default ? `${t.name} (default)` : t.name;
    return [name, t.description];
  });
  return tabulate([["TARGET", "DESCRIPTION"], ...rows], 1);
}

/** A location as BuildKit's JSON writes it: ranges of 1-based lines (and 0-based characters). */
export function jsonLocation(start: Position, end: Position = start) {
  return {
    ranges: [
      {
        start: { line: start.line, character: start.column - 1 },
        end: { line: end.line, character: end.column - 1 },
      },
    ],
  };
}

/** `--call outline,format=json`: BuildKit's outline document (without the source bytes). */
export function outlineToJson(o: Outline): unknown {
  return omitEmpty({
    name: o.name,
    description: o.description,
    args: o.args.map((a) =>
      omitEmpty({ name: a.name, description: a.description, value: a.value, location: jsonLocation(a.pos) }),
    ),
    secrets: o.secrets.map((s) =>
      omitEmpty({ name: s.name, required: s.required, location: jsonLocation(s.pos) }),
    ),
    ssh: o.ssh.map((s) => omitEmpty({ name: s.name, required: s.required, location: jsonLocation(s.pos) })),
  });
}

/** `--call targets,format=json`: BuildKit's target list (without the source bytes). */
export function targetsToJson(targets: readonly TargetInfo[]): unknown {
  return {
    targets: targets.map((t) =>
      omitEmpty({
        name: t.name,
        default: t.default,
        description: t.description,
        base: t.base,
        platform: t.platform,
        location: jsonLocation(t.pos),
      }),
    ),
  };
}

// Go's `omitempty`: drop undefined, "", false and empty arrays, as BuildKit's JSON does.
function omitEmpty(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === "" || v === false || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return out;
}
