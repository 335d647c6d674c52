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
  /** `-i`: keep stdin open for the container. */
  interactive?: boolean;
  /** `-t`: give it a terminal. */
  tty?: boolean;
  /** `-e KEY=VALUE` / `-e KEY` as written, in order. */
  env: string[];
  /** `-v HOST:CONTAINER[:ro|rw]` as written, in order. */
  volumes: string[];
}

const valued = new Set(["--platform", "--entrypoint", "--env", "--volume"]);
const shortValued: Record<string, string> = { e: "--env", v: "--volume" };
const shortFlags: Record<string, "interactive" | "tty"> = { i: "interactive", t: "tty" };

export function parseRunArgs(args: readonly string[]): RunArgs {
  const out: Partial<RunArgs> & { env: string[]; volumes: string[] } = { env: [], volumes: [] };
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    if (arg === "-h" || arg === "--help") return { name: "", command: [], help: true, env: [], volumes: [] };
    // The container is always removed: --rm is accepted for `docker run` habits and changes nothing.
    if (arg === "--rm") continue;
    if (arg === "--interactive" || arg === "--tty") {
      out[arg === "--tty" ? "tty" : "interactive"] = true;
      continue;
    }
    // Short options cluster as docker's do: `-it`, `-ti`, `-itv SRC:DST`, `-eKEY=V`.
    if (/^-[a-zA-Z]/.test(arg)) {
      let j = 1;
      for (; j < arg.length; j++) {
        const c = arg[j]!;
        const flag = shortFlags[c];
        if (flag) {
          out[flag] = true;
          continue;
        }
        const long = shortValued[c];
        if (!long) {
          throw new UserError(`polyarch run: unknown option ${arg}`, {
            hint: "options go before NAME (everything after it is the command); see polyarch run --help",
          });
        }
        let value: string | undefined = arg.slice(j + 1).replace(/^=/, "");
        if (value === "") value = args[++i];
        if (value === undefined) throw new UserError(`polyarch run: -${c} needs a value`);
        (long === "--env" ? out.env : out.volumes).push(value);
        break;
      }
      continue;
    }
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
    else if (flag === "--env") out.env.push(value);
    else if (flag === "--volume") out.volumes.push(value);
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
