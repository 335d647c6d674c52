import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";

/**
 * polyarch's state directory: $POLYARCH_ROOT, else $XDG_DATA_HOME/polyarch, else ~/.local/share/polyarch.
 * Every persistent part (content store, build cache, snapshots) lives in its own folder below it.
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.POLYARCH_ROOT) return resolve(env.POLYARCH_ROOT);
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = env.XDG_DATA_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, "polyarch");
  return join(env.HOME || homedir(), ".local", "share", "polyarch");
}

/** The content store's own directory under the state directory. */
export function defaultContentRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(defaultStateDir(env), "content");
}
