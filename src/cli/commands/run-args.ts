/**
 * `polyarch run`'s arguments, read as `docker run` reads them: options come before the image name, and
 * everything after the name is the container's command, verbatim (`NAME uname -m`, `NAME ls --help`), so
 * commander's option parsing never sees it.
 */
import { UserError } from "../../errors/user-error.ts";

export interface RunArgs {
  name: string;
  command: string[];
  platform?: string;
  entrypoint?: string;
  help?: boolean;
}

const valued = new Set(["--platform", "--entrypoint"]);

export function parseRunArgs(args: readonly string[]): RunArgs {
  const out: Partial<RunArgs> = {};
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    if (arg === "-h" || arg === "--help") return { name: "", command: [], help: true };
    // The container is always removed: --rm is accepted for `docker run` habits and changes nothing.
    if (arg === "--rm") continue;
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (!valued.has(flag)) {
      throw new UserError(`polyarch run: unknown option ${arg}`, {
        hint: "options go before NAME (everything after it is the command); see polyarch run --help",
      });
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else value = args[++i];
    if (value === undefined) throw new UserError(`polyarch run: ${flag} needs a value`);
    if (flag === "--platform") out.platform = value;
    else out.entrypoint = value;
  }
  const name = args[i];
  if (name === undefined) {
    throw new UserError("polyarch run: no image named", {
      hint: "polyarch run [--platform OS/ARCH] NAME [CMD…]; `polyarch images` lists the stored images",
    });
  }
  return { ...out, name, command: args.slice(i + 1) };
}
