import { UserError } from "../../errors/user-error.ts";

/** What `# check=…` (or the BUILDKIT_DOCKERFILE_CHECK build arg) asks of the checks. */
export interface CheckOptions {
  /** Rule names not to report. */
  skip: Set<string>;
  skipAll: boolean;
  /** Findings fail the build (`error=true`). */
  error: boolean;
  /** Experimental rules asked for (`experimental=NAME,…`), or all of them (`experimental=all`). */
  experimental: Set<string>;
  experimentalAll: boolean;
}

/**
 * Reads BuildKit's check options: `skip=RULE[,RULE…]` or `skip=all`, and `error=true|false`, separated by `;`.
 * `where` names the source in error messages.
 */
export function parseCheckOptions(text: string | undefined, where = "# check="): CheckOptions {
  const options: CheckOptions = {
    skip: new Set(),
    skipAll: false,
    error: false,
    experimental: new Set(),
    experimentalAll: false,
  };
  const trimmed = (text ?? "").trim();
  if (trimmed === "") return options;
  for (const part of trimmed.split(";")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq < 0) throw invalid(where, part);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "skip") {
      if (value === "all") options.skipAll = true;
      else for (const name of value.split(",")) if (name.trim() !== "") options.skip.add(name.trim());
    } else if (key === "error") {
      const b = parseGoBool(value);
      if (b === undefined) throw invalid(where, part);
      options.error = b;
    } else if (key === "experimental") {
      if (value === "all") options.experimentalAll = true;
      else for (const name of value.split(",")) if (name.trim() !== "") options.experimental.add(name.trim());
    } else throw invalid(where, part);
  }
  return options;
}

function invalid(where: string, part: string): UserError {
  return new UserError(`invalid check option ${JSON.stringify(part.trim())} in ${where}`, {
    hint: "write e.g. `# check=skip=JSONArgsRecommended,StageNameCasing;error=true` (or skip=all)",
  });
}

// Go's strconv.ParseBool, which BuildKit uses for error=.
function parseGoBool(v: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  return undefined;
}
