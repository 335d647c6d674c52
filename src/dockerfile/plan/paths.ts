import { posix } from "node:path";

/** The default PATH BuildKit puts in every image that has none (Linux and other Unix-likes). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** WORKDIR semantics: a relative path is taken from the current directory; the result is clean and absolute. */
export function resolveWorkdir(current: string, requested: string): string {
  const joined = requested.startsWith("/") ? requested : posix.join("/", current || "/", requested);
  return cleanAbsolute(joined);
}

/**
 * A COPY/ADD destination made absolute against the working directory. A trailing `/` (or `/.`, or `.` alone)
 * means "into this directory" and is kept, because it changes what the copy does.
 */
export function resolveDest(cwd: string, dest: string): string {
  const p = dest === "" || dest === "." ? "./" : dest;
  const keepSlash = p.endsWith("/") || p.endsWith("/.");
  const abs = p.startsWith("/") ? p : posix.join("/", cwd || "/", p);
  const cleaned = cleanAbsolute(abs);
  return keepSlash && cleaned !== "/" ? `${cleaned}/` : cleaned;
}

/** Cleans an absolute path: `.` and `..` resolved (never above `/`), duplicate slashes and a trailing slash gone. */
export function cleanAbsolute(p: string): string {
  const n = posix.normalize(`/${p}`);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/** True when a relative path climbs out of its root (`../x`, `a/../../x`). */
export function escapesRoot(p: string): boolean {
  let depth = 0;
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      depth--;
      if (depth < 0) return true;
    } else depth++;
  }
  return false;
}

/** Whether a path holds glob characters that a copy expands. */
export function containsWildcards(p: string): boolean {
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === "*" || c === "?" || c === "[") return true;
    if (c === "\\") i++;
  }
  return false;
}
