import { existsSync } from "node:fs";
import { UserError } from "../errors/user-error.ts";

export interface SshForwardFlag {
  id: string;
  paths: string[];
}

/**
 * Reads `--ssh` values as buildx does: `default` or `ID` (the agent at $SSH_AUTH_SOCK), `ID=SOCKET`, or
 * `ID=KEY_FILE[,KEY_FILE…]`. The files are only checked to exist here; ssh-add reads keys, never polyarch.
 */
export function parseSshFlags(values: readonly string[]): SshForwardFlag[] {
  const byId = new Map<string, SshForwardFlag>();
  for (const value of values) {
    const eq = value.indexOf("=");
    const id = (eq < 0 ? value : value.slice(0, eq)).trim();
    if (id === "" || /[\s,]/.test(id)) throw bad(value, "it needs an id (e.g. default) before any =");
    const paths =
      eq < 0
        ? []
        : value
            .slice(eq + 1)
            .split(",")
            .map((p) => p.trim())
            .filter(Boolean);
    if (eq >= 0 && paths.length === 0) throw bad(value, "it has = but no socket or key file after it");
    for (const p of paths) if (!existsSync(p)) throw bad(value, `${p} does not exist`);
    if (byId.has(id)) throw bad(value, `the id ${id} is given twice`);
    byId.set(id, { id, paths });
  }
  return [...byId.values()];
}

function bad(value: string, why: string): UserError {
  return new UserError(`invalid --ssh ${JSON.stringify(value)}: ${why}`, {
    hint: "write --ssh default (your $SSH_AUTH_SOCK), --ssh ID=SOCKET or --ssh ID=KEY_FILE[,KEY_FILE…]",
  });
}
