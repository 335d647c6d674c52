import { readdirSync, readlinkSync } from "node:fs";
import { UserError } from "../../errors/user-error.ts";
import type { ActionEnv } from "./context.ts";
import { lstatIfExists, resolveInRoot } from "./root-path.ts";

/**
 * A UserError for a file op. With a location the error carries it (and the CLI prints it before the
 * message); only without one does the message start with where the instruction is, so it is said once.
 */
export function fileOpError(env: ActionEnv, message: string, hint?: string, cause?: unknown): UserError {
  return new UserError(env.where && env.location === undefined ? `${env.where}: ${message}` : message, {
    ...(hint === undefined ? {} : { hint }),
    ...(env.location === undefined ? {} : { location: env.location }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The error for a source path that does not exist, worded like BuildKit's (`"/missing.txt": not found`)
 * but naming where it was looked for and listing names close to the missing one.
 */
export function sourceNotFound(env: ActionEnv, root: string, path: string, inputName: string | undefined) {
  const where = inputName ? ` in ${inputName}` : "";
  const link = brokenLink(root, path);
  if (link) {
    // Most often a link out of the context (`config -> /etc/app.conf`): say so rather than "not found".
    return fileOpError(
      env,
      `${JSON.stringify(path)}: ${link.path} is a symbolic link to ${JSON.stringify(link.target)}, which does not exist${where}`,
      "links are followed inside the tree they are in, never out of it (as BuildKit does); copy the file itself into the context",
    );
  }
  const near = nearMatches(root, path);
  let hint = near.length > 0 ? `did you mean ${near.map((n) => JSON.stringify(n)).join(" or ")}?` : undefined;
  if (inputName === "the build context") {
    const also = "check that the path is relative to the context and that .dockerignore does not exclude it";
    hint = hint ? `${hint} Otherwise ${also}` : also;
  }
  return fileOpError(env, `${JSON.stringify(path)}: not found${where}`, hint);
}

/** The first symlink on `path` whose target does not exist inside the tree, with that target as written. */
function brokenLink(root: string, path: string): { path: string; target: string } | undefined {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  for (let i = 1; i <= parts.length; i++) {
    const prefix = `/${parts.slice(0, i).join("/")}`;
    const at = resolveInRoot(root, prefix, false);
    const stats = lstatIfExists(at.host);
    if (stats === undefined) return undefined;
    if (stats.isSymbolicLink() && lstatIfExists(resolveInRoot(root, prefix).host) === undefined)
      return { path: at.logical, target: readlinkSync(at.host) };
  }
  return undefined;
}

/** Up to three existing paths that differ from `path` by case or a few characters in its last name. */
export function nearMatches(root: string, path: string): string[] {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  // The deepest directory that exists, and the first name below it that does not.
  let depth = 0;
  let names: string[] = [];
  for (; depth < parts.length; depth++) {
    const dir = `/${parts.slice(0, depth).join("/")}`;
    try {
      names = readdirSync(resolveInRoot(root, dir).host);
    } catch {
      return [];
    }
    if (!names.includes(parts[depth]!)) break;
  }
  const wanted = parts[depth];
  if (wanted === undefined) return [];
  const prefix = `/${parts.slice(0, depth).join("/")}`.replace(/\/$/, "");
  const limit = Math.max(2, Math.floor(wanted.length / 3));
  return names
    .map((name) => ({
      name,
      d: name.toLowerCase() === wanted.toLowerCase() ? 0 : editDistance(name, wanted),
    }))
    .filter((c) => c.d <= limit)
    .sort((a, b) => a.d - b.d || (a.name < b.name ? -1 : 1))
    .slice(0, 3)
    .map((c) => `${prefix}/${c.name}`);
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8) return Number.POSITIVE_INFINITY;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost));
    }
    previous = row;
  }
  return previous[b.length]!;
}
