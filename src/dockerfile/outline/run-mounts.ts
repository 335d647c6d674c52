import type { Flag } from "../ast.ts";

/** One `RUN --mount=…` read as its CSV fields (keys lower-cased; a bare key such as `required` has no value). */
export interface MountFields {
  type: string;
  fields: Map<string, string | undefined>;
  flag: Flag;
}

/**
 * Reads a `--mount` value the way BuildKit does: comma-separated `key=value` fields, where a field may be
 * double-quoted to hold a comma. The default type is `bind`.
 */
export function parseMountFlag(flag: Flag): MountFields {
  const fields = new Map<string, string | undefined>();
  for (const field of splitCsv(flag.value ?? "")) {
    if (field === "") continue;
    const eq = field.indexOf("=");
    if (eq < 0) fields.set(field.toLowerCase(), undefined);
    else fields.set(field.slice(0, eq).toLowerCase(), field.slice(eq + 1));
  }
  return { type: (fields.get("type") ?? "bind").toLowerCase(), fields, flag };
}

/** A secret or ssh agent a RUN step asks the client for. */
export interface ClientResource {
  id: string;
  required: boolean;
}

/** The secret a mount asks for: its id defaults to the target's file name, as in BuildKit. */
export function secretOfMount(m: MountFields): ClientResource | undefined {
  if (m.type !== "secret") return undefined;
  const target = m.fields.get("target") ?? m.fields.get("dst") ?? m.fields.get("destination");
  const id =
    m.fields.get("id") ||
    (target ? target.replace(/\/+$/, "").split("/").pop() : undefined) ||
    m.fields.get("env");
  if (!id) return undefined;
  return { id, required: isTrue(m.fields, "required") };
}

/** The ssh agent a mount forwards: `default` unless it names another. */
export function sshOfMount(m: MountFields): ClientResource | undefined {
  if (m.type !== "ssh") return undefined;
  return { id: m.fields.get("id") || "default", required: isTrue(m.fields, "required") };
}

/** The stage or image a bind/cache mount reads from (`from=`), if any. */
export function mountSource(m: MountFields): string | undefined {
  return m.fields.get("from") || undefined;
}

function isTrue(fields: Map<string, string | undefined>, key: string): boolean {
  if (!fields.has(key)) return false;
  const v = fields.get(key);
  return v === undefined || /^(1|t|true)$/i.test(v);
}

function splitCsv(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      if (quoted && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
    } else if (c === "," && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}
