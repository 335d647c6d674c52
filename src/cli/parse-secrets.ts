import { UserError } from "../errors/user-error.ts";

export interface SecretSource {
  file?: string;
  env?: string;
}

/**
 * Reads `--secret` values as buildx does: `id=NAME[,type=file|env][,src=PATH|source=PATH][,env=VAR]`. With
 * neither a file nor a variable named, the environment variable called NAME is used. Values are never read
 * here: only where they come from, so nothing secret passes through argument parsing or error messages.
 */
export function parseSecrets(
  values: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Record<string, SecretSource> {
  const out: Record<string, SecretSource> = {};
  for (const value of values) {
    const fields: Record<string, string> = {};
    for (const part of value.split(",")) {
      const eq = part.indexOf("=");
      if (eq <= 0) throw bad(value, `"${part}" is not KEY=VALUE`);
      const key = part.slice(0, eq).trim().toLowerCase();
      if (!["id", "type", "src", "source", "env"].includes(key)) throw bad(value, `unknown key "${key}"`);
      fields[key === "source" ? "src" : key] = part.slice(eq + 1);
    }
    const id = fields.id;
    if (!id) throw bad(value, "it has no id=");
    const type = fields.type ?? (fields.env !== undefined && fields.src === undefined ? "env" : "file");
    if (type !== "file" && type !== "env") throw bad(value, `type must be file or env, not "${type}"`);
    if (type === "env") {
      const name = fields.env ?? fields.src ?? id;
      if (env[name] === undefined) throw bad(value, `the environment variable ${name} is not set`);
      out[id] = { env: name };
    } else if (fields.src !== undefined) {
      out[id] = { file: fields.src };
    } else if (env[id] !== undefined) {
      out[id] = { env: id };
    } else {
      throw bad(value, `it names no src= file and no environment variable ${id} is set`);
    }
  }
  return out;
}

function bad(value: string, why: string): UserError {
  // The value may hold a path but never a secret itself; still, name only the id-bearing flag.
  return new UserError(`invalid --secret ${JSON.stringify(value)}: ${why}`, {
    hint: "write --secret id=NAME,src=FILE or --secret id=NAME,env=VARIABLE",
  });
}
