// RUN --mount=… values as BuildKit reads them: one CSV record of key=value fields (Go's encoding/csv rules).

export type MountType = "bind" | "cache" | "tmpfs" | "secret" | "ssh";

export interface MountSpec {
  type: MountType;
  from: string | undefined;
  source: string | undefined;
  target: string | undefined;
  readonly: boolean;
  id: string | undefined;
  sharing: "shared" | "private" | "locked" | undefined;
  required: boolean;
  mode: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
  size: number | undefined;
  env: string | undefined;
}

/** A mount value that cannot be used; the message says why (the caller adds the position). */
export class MountSyntaxError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

const mountTypes: readonly MountType[] = ["bind", "cache", "tmpfs", "secret", "ssh"];
const allKeys = [
  "type",
  "from",
  "source",
  "src",
  "target",
  "dst",
  "destination",
  "readonly",
  "ro",
  "readwrite",
  "rw",
  "id",
  "sharing",
  "required",
  "mode",
  "uid",
  "gid",
  "size",
  "env",
];

/**
 * Parses one `--mount` value. `expand` expands a field's value with the stage's variables (BuildKit expands
 * every field except `from`, which must name a stage, context or image literally).
 */
export function parseMount(value: string, expand: (word: string) => string): MountSpec {
  const fields = splitCsvRecord(value);
  const pairs = fields.map((field) => {
    const eq = field.indexOf("=");
    return eq < 0
      ? { key: field.toLowerCase(), value: undefined, field }
      : { key: field.slice(0, eq).toLowerCase(), value: field.slice(eq + 1), field };
  });
  const m: MountSpec = {
    type: "bind",
    from: undefined,
    source: undefined,
    target: undefined,
    readonly: true,
    id: undefined,
    sharing: undefined,
    required: false,
    mode: undefined,
    uid: undefined,
    gid: undefined,
    size: undefined,
    env: undefined,
  };
  // The type decides which keys are allowed, wherever it is written in the list.
  const typeField = pairs.filter((p) => p.key === "type").pop();
  if (typeField) {
    const t = expand(typeField.value ?? "").toLowerCase();
    if (!mountTypes.includes(t as MountType)) {
      throw new MountSyntaxError(`unsupported mount type "${t}"`, `use one of: ${mountTypes.join(", ")}`);
    }
    m.type = t as MountType;
  }
  let readonlyGiven = false;
  for (const { key, value: raw, field } of pairs) {
    if (key === "type") continue;
    if (raw === undefined) {
      switch (key) {
        case "readonly":
        case "ro":
          m.readonly = true;
          readonlyGiven = true;
          continue;
        case "readwrite":
        case "rw":
          m.readonly = false;
          readonlyGiven = true;
          continue;
        case "required":
          if (m.type !== "secret" && m.type !== "ssh")
            throw new MountSyntaxError(`unexpected key '${key}' for mount type '${m.type}'`);
          m.required = true;
          continue;
        default:
          throw new MountSyntaxError(`invalid field '${field}' must be a key=value pair`);
      }
    }
    if (key === "from") {
      if (/\$./.test(raw)) {
        throw new MountSyntaxError(
          "'from' doesn't support variable expansion, define alias stage instead",
          "add a stage `FROM $VAR AS name` and mount from=name",
        );
      }
      m.from = raw;
      continue;
    }
    const v = expand(raw);
    switch (key) {
      case "source":
      case "src":
        m.source = v;
        break;
      case "target":
      case "dst":
      case "destination":
        m.target = v;
        break;
      case "readonly":
      case "ro":
        m.readonly = parseBool(v, key);
        readonlyGiven = true;
        break;
      case "readwrite":
      case "rw":
        m.readonly = !parseBool(v, key);
        readonlyGiven = true;
        break;
      case "required":
        if (m.type !== "secret" && m.type !== "ssh")
          throw new MountSyntaxError(`unexpected key '${key}' for mount type '${m.type}'`);
        m.required = parseBool(v, key);
        break;
      case "size":
        if (m.type !== "tmpfs")
          throw new MountSyntaxError(`unexpected key '${key}' for mount type '${m.type}'`);
        m.size = parseRamBytes(v);
        break;
      case "id":
        m.id = v;
        break;
      case "sharing": {
        const s = v.toLowerCase();
        if (s !== "shared" && s !== "private" && s !== "locked")
          throw new MountSyntaxError(
            `unsupported sharing value "${v}"`,
            "use one of: shared, private, locked",
          );
        m.sharing = s;
        break;
      }
      case "mode":
        if (!/^[0-7]+$/.test(v) || Number.parseInt(v, 8) > 0o7777)
          throw new MountSyntaxError(`invalid value ${v} for mode`, "give an octal mode such as 0755");
        m.mode = Number.parseInt(v, 8);
        break;
      case "uid":
      case "gid": {
        if (!/^\d+$/.test(v) || Number(v) > 0xffffffff)
          throw new MountSyntaxError(`invalid value ${v} for ${key}`);
        m[key] = Number(v);
        break;
      }
      case "env":
        if (m.type !== "secret")
          throw new MountSyntaxError(`unexpected key '${key}' for mount type '${m.type}'`);
        m.env = v;
        break;
      default:
        throw new MountSyntaxError(
          `unexpected key '${key}' in '${field}'`,
          `known keys: ${allKeys.join(", ")}`,
        );
    }
  }
  validate(m, readonlyGiven);
  return m;
}

function validate(m: MountSpec, readonlyGiven: boolean): void {
  const fileInfoAllowed = m.type === "secret" || m.type === "ssh" || m.type === "cache";
  if (!fileInfoAllowed) {
    for (const k of ["mode", "uid", "gid"] as const)
      if (m[k] !== undefined) throw new MountSyntaxError(`${k} not allowed for "${m.type}" type mounts`);
  }
  if (!readonlyGiven) m.readonly = !(m.type === "cache" || m.type === "tmpfs");
  if (m.type === "secret") {
    if (m.from !== undefined) throw new MountSyntaxError("secret mount should not have a from");
    if (m.sharing !== undefined) throw new MountSyntaxError("secret mount should not define sharing");
    if (m.source === undefined && m.target === undefined && m.id === undefined && m.env === undefined)
      throw new MountSyntaxError(
        "invalid secret mount. one of source, target required",
        "e.g. type=secret,id=npmrc",
      );
    if (m.source !== undefined && m.id !== undefined)
      throw new MountSyntaxError("both source and id can't be set");
  }
  if (m.sharing !== undefined && m.type !== "cache")
    throw new MountSyntaxError(`invalid cache sharing set for ${m.type} mount`);
  // A bind, cache or tmpfs mount without a target is mounted at the working directory (as BuildKit does).
}

function parseBool(v: string, key: string): boolean {
  // Go's strconv.ParseBool.
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  throw new MountSyntaxError(`invalid value for ${key}: ${v}`);
}

/** docker/go-units RAMInBytes: `64m`, `1g`, `512KiB`, `100` (binary multiples). */
export function parseRamBytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(v);
  if (!m) throw new MountSyntaxError(`invalid value for size: ${v}`, "give a size such as 64m or 1g");
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[
    (m[2] ?? "").toLowerCase()
  ]!;
  return Math.floor(Number(m[1]) * mult);
}

/** One record of Go's encoding/csv: comma-separated, `"…"` quoting with `""` for a quote. */
export function splitCsvRecord(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new MountSyntaxError(`extraneous or missing " in quoted-field: ${line}`);
        const c = line[i]!;
        if (c === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += c;
        i++;
      }
      if (i < line.length && line[i] !== ",")
        throw new MountSyntaxError(`extraneous or missing " in quoted-field: ${line}`);
    } else {
      while (i < line.length && line[i] !== ",") {
        if (line[i] === '"') throw new MountSyntaxError(`bare " in non-quoted-field: ${line}`);
        field += line[i];
        i++;
      }
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}
