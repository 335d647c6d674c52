/**
 * `--cache-from` / `--cache-to` as buildx spells them: CSV fields `type=…,KEY=VALUE,…` with `mode=min|max`
 * and `ignore-error=true|false`; a `--cache-from` without `=` is an image reference (type=registry,ref=…,
 * which also reads an image's inline cache). Which types exist and what attributes each takes is the cache
 * backends' registry (api/build/cache-backends.ts); an unknown type or attribute is refused by name.
 * `cache-mounts=true` (ours: buildx has no such field) also exports the contents of the build's
 * RUN --mount=type=cache mounts.
 */
import {
  type CacheExport,
  type CacheImport,
  cacheBackend,
  cacheBackendTypes,
} from "../api/build/cache-backends.ts";
import { UserError } from "../errors/user-error.ts";
import { splitCsvFields } from "../exporter/csv-fields.ts";

type Flag = "--cache-from" | "--cache-to";

function fieldsOf(value: string, flag: Flag): Map<string, string> {
  const fields = new Map<string, string>();
  for (const f of splitCsvFields(value, flag)) {
    const eq = f.indexOf("=");
    if (eq <= 0) throw new UserError(`${flag} ${value}: field ${JSON.stringify(f)} is not KEY=VALUE`);
    fields.set(f.slice(0, eq).trim().toLowerCase(), f.slice(eq + 1));
  }
  return fields;
}

function ignoreError(fields: Map<string, string>, flag: Flag, value: string): boolean {
  return booleanField(fields, "ignore-error", flag, value);
}

/** Takes a true|false field out of `fields`. */
function booleanField(fields: Map<string, string>, name: string, flag: Flag, value: string): boolean {
  const v = fields.get(name);
  fields.delete(name);
  if (v === undefined || v === "false") return false;
  if (v === "true") return true;
  throw new UserError(`${flag} ${value}: ${name} must be true or false`);
}

function parse(
  value: string,
  flag: Flag,
): {
  type: string;
  attrs: Record<string, string>;
  ignore: boolean;
  mode: string | undefined;
  cacheMounts: boolean;
} {
  const fields = fieldsOf(value, flag);
  const type = fields.get("type") ?? "";
  fields.delete("type");
  const backend = cacheBackend(type);
  const names = flag === "--cache-from" ? backend?.importAttrs : backend?.exportAttrs;
  if (!backend || !names) {
    const usable = cacheBackendTypes().filter((t) =>
      flag === "--cache-from" ? cacheBackend(t)?.importAttrs : cacheBackend(t)?.exportAttrs,
    );
    throw new UserError(`${flag} ${value}: cache type ${JSON.stringify(type)} is not supported`, {
      hint: `${flag} takes type=${usable.join("|type=")}${flag === "--cache-from" ? ", or an image reference" : ""}`,
    });
  }
  const ignore = ignoreError(fields, flag, value);
  const cacheMounts =
    flag === "--cache-to" && type !== "inline" && booleanField(fields, "cache-mounts", flag, value);
  const mode = fields.get("mode");
  fields.delete("mode");
  if (flag === "--cache-from" && mode !== undefined)
    throw new UserError(`${flag} ${value}: mode is a --cache-to attribute`);
  const attrs: Record<string, string> = {};
  for (const [k, v] of fields) {
    if (!names.includes(k))
      throw new UserError(`${flag} ${value}: type=${type} has no attribute ${JSON.stringify(k)}`, {
        hint: names.length ? `it takes ${names.join(", ")}` : "it takes none",
      });
    attrs[k] = v;
  }
  backend.check?.(attrs, flag);
  return { type, attrs, ignore, mode, cacheMounts };
}

export function parseCacheFrom(values: readonly string[]): CacheImport[] {
  return values.map((value) => {
    // buildx: a value without `=` is an image reference read as a registry cache (or its inline cache).
    if (!value.includes("=")) value = `type=registry,ref=${value}`;
    const { type, attrs, ignore } = parse(value, "--cache-from");
    return { type, attrs, ignoreError: ignore };
  });
}

export function parseCacheTo(values: readonly string[]): CacheExport[] {
  return values.map((value) => {
    const { type, attrs, ignore, mode = "min", cacheMounts } = parse(value, "--cache-to");
    const modes = cacheBackend(type)?.modes ?? ["min"];
    if (!(modes as readonly string[]).includes(mode))
      throw new UserError(`--cache-to ${value}: mode=${mode} is not supported for type=${type}`, {
        hint: `type=${type} takes mode=${modes.join("|mode=")}`,
      });
    return {
      type,
      mode: mode as "min" | "max",
      attrs,
      ignoreError: ignore,
      ...(cacheMounts ? { cacheMounts } : {}),
    };
  });
}
