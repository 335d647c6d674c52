import { realpath, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { UserError } from "../../errors/user-error.ts";
import { isGitUrl } from "../../graph/git-url.ts";
import { familiarName, parseImageRef } from "../plan/image-ref.ts";

/**
 * A `--build-context NAME=VALUE` that replaces NAME wherever the Dockerfile uses it in `FROM NAME`,
 * `COPY --from=NAME` or `RUN --mount=from=NAME`: a local directory, an image, or a remote context (a git
 * URL, or an https URL of a tarball) that is fetched into a directory before the build plans (see
 * api/build/remote-contexts.ts) and is then a local directory like any other.
 */
export type NamedContext =
  | { name: string; kind: "local"; path: string }
  | { name: string; kind: "image"; ref: string }
  | RemoteNamedContext;

/** A named context fetched before planning: a git repository (`#ref:subdir`) or a tarball over http(s). */
export type RemoteNamedContext =
  | { name: string; kind: "git"; url: string }
  | { name: string; kind: "url"; url: string };

/** Kinds buildx accepts that polyarch does not build from yet; each gets a clear error, never a guess. */
const unsupportedPrefixes: [RegExp, string][] = [
  [/^oci-layout:\/\//, "oci-layout:// contexts"],
  [/^target:/, "target: contexts (a bake feature)"],
  [/^[a-z][a-z0-9+.-]*:\/\//, "this kind of context"],
];

/** What a context value names when it is remote (BuildKit's order: a git URL first, then any http URL). */
export function remoteContextKind(value: string): "git" | "url" | undefined {
  if (isGitUrl(value)) return "git";
  if (/^https?:\/\//.test(value)) return "url";
  return undefined;
}

/** Parses the `--build-context` values; names are normalised as buildx does (`docker.io/library/x:latest` → `x`). */
export async function parseNamedContexts(
  values: readonly string[],
  cwd = process.cwd(),
): Promise<NamedContext[]> {
  const byName = new Map<string, NamedContext>();
  for (const value of values) {
    if (value === "") continue;
    const eq = value.indexOf("=");
    if (eq <= 0) {
      throw new UserError(`invalid --build-context ${JSON.stringify(value)}: expected NAME=VALUE`, {
        hint: "e.g. --build-context src=../shared or --build-context alpine=docker-image://alpine:3.20",
      });
    }
    const name = normalizeContextName(value.slice(0, eq));
    const target = value.slice(eq + 1);
    byName.set(name, await parseContextValue(name, target, cwd));
  }
  return [...byName.values()];
}

async function parseContextValue(name: string, value: string, cwd: string): Promise<NamedContext> {
  if (value.startsWith("docker-image://")) {
    const ref = value.slice("docker-image://".length);
    if (!isPlausibleImageRef(ref)) {
      throw new UserError(
        `invalid --build-context ${name}: ${JSON.stringify(ref)} is not an image reference`,
        {
          hint: "write docker-image://NAME[:TAG][@DIGEST], e.g. docker-image://alpine:3.20",
        },
      );
    }
    return { name, kind: "image", ref };
  }
  const remote = remoteContextKind(value);
  if (remote) return { name, kind: remote, url: value };
  for (const [pattern, what] of unsupportedPrefixes) {
    if (pattern.test(value)) {
      throw new UserError(`--build-context ${name}=${value}: ${what} are not supported yet`, {
        hint: "use a local directory, docker-image://REF, a git URL or an https URL of a tarball",
      });
    }
  }
  if (value === "") {
    throw new UserError(`--build-context ${name}= has no value`, {
      hint: "give a directory or docker-image://REF after the =",
    });
  }
  const abs = resolve(cwd, value);
  let isDir = false;
  try {
    isDir = (await stat(abs)).isDirectory();
  } catch {
    throw new UserError(`--build-context ${name}: directory ${JSON.stringify(value)} does not exist`, {
      hint: "a local named context is a directory, relative to the current directory",
    });
  }
  if (!isDir) {
    throw new UserError(`--build-context ${name}: ${JSON.stringify(value)} is not a directory`, {
      hint: "a local named context is a directory; for an image write docker-image://REF",
    });
  }
  return { name, kind: "local", path: await realpath(abs) };
}

/**
 * The familiar form of a context name, as buildx computes it: parse as an image name (so it must be
 * lowercase), drop `docker.io/` and `library/`, and drop a `:latest` tag.
 */
export function normalizeContextName(raw: string): string {
  const parsed = parseImageRef(raw);
  if (!parsed.ok) {
    throw new UserError(`invalid --build-context name ${JSON.stringify(raw)}: ${parsed.reason}`, {
      hint: "names are lowercase image-style names: letters, digits, and . _ - / separators (e.g. src, alpine:3.20)",
    });
  }
  return familiarName(parsed.ref);
}

function isPlausibleImageRef(ref: string): boolean {
  return parseImageRef(ref).ok;
}
