import { readFile } from "node:fs/promises";
import { UserError } from "../../errors/user-error.ts";
import type { SecretProvider } from "../../solver/types.ts";

/** `--secret id=ID,src=FILE` or `env=VAR`: read when a step needs it, never kept beyond the build. */
export function secretProvider(
  secrets: Readonly<Record<string, { file?: string; env?: string }>> | undefined,
  env: NodeJS.ProcessEnv = process.env,
): SecretProvider {
  return async (id) => {
    const spec = secrets?.[id];
    if (!spec) return undefined;
    if (spec.file !== undefined) {
      try {
        return await readFile(spec.file);
      } catch (e) {
        throw new UserError(
          `cannot read secret ${JSON.stringify(id)} from ${spec.file}: ${(e as NodeJS.ErrnoException).code ?? e}`,
          {
            hint: "--secret id=ID,src=PATH takes a readable file",
          },
        );
      }
    }
    if (spec.env !== undefined) {
      const value = env[spec.env];
      return value === undefined ? undefined : Buffer.from(value, "utf8");
    }
    return undefined;
  };
}
