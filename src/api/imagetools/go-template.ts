/**
 * The part of Go's text/template that `imagetools inspect --format` is used with: text and `{{ … }}` actions
 * holding a pipeline of field chains (`.`, `.Manifest.Digest`, `$`), string literals and the functions
 * `json` and `index`, with `{{-`/`-}}` trimming and comments. Control structures (range, if, with, …) are
 * refused with a clear error instead of being half-implemented.
 *
 * Field names are Go's (`.Image.Config.Env`); on JSON data they match a key that spells the same once case
 * and punctuation are ignored (`DiffIDs` ↔ `diff_ids`, `OSVersion` ↔ `os.version`).
 */
import { UserError } from "../../errors/user-error.ts";
import { goJson } from "./go-json.ts";

/** A value with Go fields and methods of its own (the template's root); `json` prints only `jsonValue`. */
export interface TemplateObject {
  readonly templateType: string;
  field(name: string): { value: unknown } | undefined;
  fieldNames(): string[];
  jsonValue(): unknown;
}

type Operand = { kind: "field"; root: "dot" | "dollar"; path: string[] } | { kind: "string"; value: string };
type Command =
  | { kind: "call"; name: "json" | "index"; args: Operand[] }
  | { kind: "operand"; operand: Operand };
type Node = { kind: "text"; text: string } | { kind: "action"; source: string; pipeline: Command[] };

export interface ParsedTemplate {
  nodes: Node[];
}

const keywords = new Set([
  "range",
  "if",
  "with",
  "else",
  "end",
  "define",
  "template",
  "block",
  "break",
  "continue",
]);

function formatError(format: string, why: string): UserError {
  return new UserError(`invalid --format ${JSON.stringify(format)}: ${why}`, {
    hint: "use a Go template such as '{{json .Manifest}}', '{{json .Image}}', '{{.Name}}' or '{{json .}}'",
  });
}

export function parseTemplate(format: string): ParsedTemplate {
  const nodes: Node[] = [];
  let pos = 0;
  let trimNext = false;
  while (pos < format.length) {
    const open = format.indexOf("{{", pos);
    let text = format.slice(pos, open < 0 ? format.length : open);
    if (trimNext) text = text.replace(/^\s+/, "");
    trimNext = false;
    if (open < 0) {
      if (text) nodes.push({ kind: "text", text });
      break;
    }
    let start = open + 2;
    if (/^-\s/.test(format.slice(start))) {
      text = text.replace(/\s+$/, "");
      start += 1;
    }
    if (text) nodes.push({ kind: "text", text });
    const close = findClose(format.slice(start));
    if (close < 0) throw formatError(format, "an action is not closed with }}");
    let body = format.slice(start, start + close);
    if (/\s-$/.test(body)) {
      body = body.slice(0, -1);
      trimNext = true;
    }
    pos = start + close + 2;
    const trimmed = body.trim();
    if (trimmed.startsWith("/*")) {
      if (!trimmed.endsWith("*/")) throw formatError(format, "a comment is not closed with */");
      continue;
    }
    nodes.push({ kind: "action", source: trimmed, pipeline: parsePipeline(trimmed, format) });
  }
  return { nodes };
}

/** The `}}` closing an action, skipping any inside string literals. */
function findClose(s: string): number {
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "`") quote = c;
    else if (c === "}" && s[i + 1] === "}") return i;
  }
  return -1;
}

function tokenize(source: string, format: string): string[] {
  const tokens: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\||[^\s|]+)/gy;
  let at = 0;
  while (at < source.length) {
    const m = re.exec(source);
    if (m === null) break;
    tokens.push(m[1]!);
    at = re.lastIndex;
  }
  if (source.slice(at).trim() !== "") throw formatError(format, `cannot read ${JSON.stringify(source)}`);
  return tokens;
}

function parsePipeline(source: string, format: string): Command[] {
  if (source === "") throw formatError(format, "an action is empty");
  const tokens = tokenize(source, format);
  const commands: Command[] = [];
  let current: string[] = [];
  const finish = () => {
    if (current.length === 0) throw formatError(format, "a pipeline has an empty command");
    commands.push(parseCommand(current, format));
    current = [];
  };
  for (const t of tokens) {
    if (t === "|") finish();
    else current.push(t);
  }
  finish();
  return commands;
}

function parseCommand(tokens: string[], format: string): Command {
  const [head, ...rest] = tokens as [string, ...string[]];
  if (keywords.has(head)) {
    throw formatError(format, `{{${head}}} is not supported; only field chains, json and index are`);
  }
  if (head === "json" || head === "index")
    return { kind: "call", name: head, args: rest.map((t) => parseOperand(t, format)) };
  if (rest.length > 0)
    throw formatError(format, `${JSON.stringify(head)} is not a function (json and index are)`);
  return { kind: "operand", operand: parseOperand(head, format) };
}

function parseOperand(token: string, format: string): Operand {
  if (token.startsWith('"')) return { kind: "string", value: JSON.parse(token) as string };
  if (token.startsWith("`")) return { kind: "string", value: token.slice(1, -1) };
  const m = /^(\$|\.)((?:\.?[A-Za-z_][A-Za-z0-9_]*)*)$/.exec(token === "." ? "." : token);
  if (!m || (m[1] === "." && m[2] !== "" && m[2]!.startsWith("."))) {
    throw formatError(format, `cannot read ${JSON.stringify(token)} (write .Field or .Field.Sub)`);
  }
  const path = m[2]!.split(".").filter(Boolean);
  return { kind: "field", root: m[1] === "$" ? "dollar" : "dot", path };
}

export function isTemplateObject(v: unknown): v is TemplateObject {
  return typeof v === "object" && v !== null && "templateType" in v && "field" in v;
}

const goName = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");

function lookup(value: unknown, name: string, chain: string): unknown {
  if (isTemplateObject(value)) {
    const hit = value.field(name);
    if (hit) return hit.value;
    throw new UserError(`--format: ${chain}: ${value.templateType} has no field ${name}`, {
      hint: `its fields: ${value.fieldNames().join(", ")}`,
    });
  }
  if (value === null || value === undefined) return undefined; // Go: nil map/pointer gives <no value>
  if (typeof value === "object" && !Array.isArray(value)) {
    const key = Object.keys(value).find((k) => goName(k) === goName(name));
    if (key !== undefined) return (value as Record<string, unknown>)[key];
    // A map keyed by platform (Image of an index) has no such field: Go gives <no value> for a missing key.
    return undefined;
  }
  throw new UserError(
    `--format: ${chain}: cannot take field ${name} of a ${Array.isArray(value) ? "list" : typeof value}`,
  );
}

function jsonOf(v: unknown): unknown {
  return isTemplateObject(v) ? v.jsonValue() : v;
}

function evalOperand(op: Operand, dot: unknown): unknown {
  if (op.kind === "string") return op.value;
  let value = dot;
  let chain = op.root === "dot" ? "" : "$";
  for (const name of op.path) {
    chain += `.${name}`;
    value = lookup(value, name, chain);
  }
  return value;
}

function index(value: unknown, keys: unknown[]): unknown {
  let v = jsonOf(value);
  for (const k of keys) {
    if (Array.isArray(v) && typeof k === "string" && /^\d+$/.test(k)) v = v[Number(k)];
    else if (typeof v === "object" && v !== null && typeof k === "string")
      v = (v as Record<string, unknown>)[k];
    else return undefined;
  }
  return v;
}

function print(v: unknown, source: string): string {
  if (v === undefined || v === null) return "<no value>";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw new UserError(`--format: {{${source}}} is an object, which has no plain text form`, {
    hint: `print it as JSON: {{json ${source}}}`,
  });
}

/** Runs a parsed template on `root` (what `.` and `$` start as). */
export function executeTemplate(template: ParsedTemplate, root: unknown): string {
  let out = "";
  for (const node of template.nodes) {
    if (node.kind === "text") {
      out += node.text;
      continue;
    }
    let piped: { value: unknown } | undefined;
    for (const cmd of node.pipeline) {
      const args = cmd.kind === "operand" ? [] : cmd.args.map((a) => evalOperand(a, root));
      if (piped) args.push(piped.value);
      if (cmd.kind === "operand") {
        if (piped) throw new UserError(`--format: {{${node.source}}}: only a function can follow |`);
        piped = { value: evalOperand(cmd.operand, root) };
      } else if (cmd.name === "json") {
        if (args.length !== 1) throw new UserError(`--format: {{${node.source}}}: json takes one argument`);
        piped = { value: goJson(jsonOf(args[0]) ?? null) };
      } else {
        if (args.length < 1) throw new UserError(`--format: {{${node.source}}}: index needs a value`);
        piped = { value: index(args[0], args.slice(1)) };
      }
    }
    out += print(piped?.value, node.source);
  }
  return out;
}

/** True when the template starts by printing `.Manifest…` as text: buildx then prints the default view. */
export function startsWithManifestField(template: ParsedTemplate): boolean {
  const first = template.nodes[0];
  if (first?.kind !== "action" || first.pipeline.length === 0) return false;
  const cmd = first.pipeline[0]!;
  return (
    cmd.kind === "operand" &&
    cmd.operand.kind === "field" &&
    cmd.operand.root === "dot" &&
    cmd.operand.path[0] === "Manifest"
  );
}
