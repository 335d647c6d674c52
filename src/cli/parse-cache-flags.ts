/**
 * `--cache-from` / `--cache-to` as buildx spells them (CSV fields `type=…,src=…|dest=…,mode=…,ignore-error=…`).
 * Only `type=local` is built so far; other types are refused by name rather than ignored. `cache-mounts=true`
 * (ours: buildx has no such field) also exports the contents of the build's RUN --mount=type=cache mounts.
 */
import type { CacheExport, CacheImport } from "../api/build/cache-transfer.ts";
import { UserError } from "../errors/user-error.ts";
import { splitCsvFields } from "../exporter/csv-fields.ts";

function fieldsOf(value: string, flag: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const f of splitCsvFields(value, flag)) {
    const eq = f.indexOf("=");
    if (eq <= 0) throw new UserError(`${flag} ${value}: field ${JSON.stringify(f)} is not KEY=VALUE`);
    fields.set(f.slice(0, eq).trim().toLowerCase(), f.slice(eq + 1));
  }
  return fields;
}

function checkType(fields: Map<string, string>, flag: string, value: string): void {
  const type = fields.get("type") ?? "";
  if (type !== "local")
    throw new UserError(`${flag} ${value}: cache type ${JSON.stringify(type)} is not supported`, {
      hint: `polyarch reads and writes type=local caches (an OCI layout directory): ${flag} type=local,${flag === "--cache-to" ? "dest" : "src"}=DIR`,
    });
}

function ignoreError(fields: Map<string, string>, flag: string, value: string): boolean {
  return booleanField(fields, "ignore-error", flag, value);
}

function booleanField(fields: Map<string, string>, name: string, flag: string, value: string): boolean {
  const v = fields.get(name);
  if (v === undefined || v === "false") return false;
  if (v === "true") return true;
  throw new UserError(`${flag} ${value}: ${name} must be true or false`);
}

export function parseCacheFrom(values: readonly string[]): CacheImport[] {
  return values.map((value) => {
    const fields = fieldsOf(value, "--cache-from");
    checkType(fields, "--cache-from", value);
    const src = fields.get("src");
    if (!src) throw new UserError(`--cache-from ${value}: type=local needs src=DIR`);
    return { type: "local", src, ignoreError: ignoreError(fields, "--cache-from", value) };
  });
}

export function parseCacheTo(values: readonly string[]): CacheExport[] {
  return values.map((value) => {
    const fields = fieldsOf(value, "--cache-to");
    checkType(fields, "--cache-to", value);
    const dest = fields.get("dest");
    if (!dest) throw new UserError(`--cache-to ${value}: type=local needs dest=DIR`);
    const mode = fields.get("mode") ?? "min";
    if (mode !== "min")
      throw new UserError(`--cache-to ${value}: mode=${mode} is not supported yet`, {
        hint: "use mode=min (the layers of the exported image, the default)",
      });
    const cacheMounts = booleanField(fields, "cache-mounts", "--cache-to", value);
    return {
      type: "local",
      dest,
      mode,
      ignoreError: ignoreError(fields, "--cache-to", value),
      ...(cacheMounts ? { cacheMounts } : {}),
    };
  });
}
