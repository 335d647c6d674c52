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
  | OciLayoutNamedContext
  | RemoteNamedContext;

/**
 * `oci-layout://PATH[:TAG][@DIGEST]` (buildx's form): an image in an OCI image layout directory on this
 * machine, picked from its index.json by tag (the `org.opencontainers.image.ref.name` annotation; `latest`
 * when neither is given, or the only entry) or by digest. Its blobs are copied into the store before
 * planning (api/build/oci-layout-contexts.ts), and from then on it is an image like `docker-image://`.
 */
export interface OciLayoutNamedContext {
  name: string;
  kind: "oci-layout";
  /** The layout directory, absolute. */
  path: string;
  tag: string | undefined;
  digest: string | undefined;
}

/** A named context fetched before planning: a git repository (`#ref:subdir`) or a tarball over http(s). */
export type RemoteNamedContext =
  | { name: string; kind: "git"; url: string }
  | { name: string; kind: "url"; url: string };

/** Kinds buildx accepts that polyarch does not build from yet; each gets a clear error, never a guess. */
const unsupportedPrefixes: [RegExp, string][] = [
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
  if (value.startsWith(ociLayoutPrefix)) return parseOciLayoutValue(name, value, cwd);
  const remote = remoteContextKind(value);
  if (remote) return { name, kind: remote, url: value };
  for (const [pattern, what] of unsupportedPrefixes) {
    if (pattern.test(value)) {
      throw new UserError(`--build-context ${name}=${value}: ${what} are not supported yet`, {
        hint: "use a local directory, docker-image://REF, oci-layout://PATH[:TAG|@DIGEST], a git URL or an https URL of a tarball",
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

const ociLayoutPrefix = "oci-layout://";
const digestPattern = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;

/**
 * Splits `oci-layout://PATH[:TAG][@DIGEST]` as buildx does: a trailing `@DIGEST` when what follows the last
 * `@` is a digest, then a trailing `:TAG` when what follows the last `:` is a tag; `latest` when neither.
 */
export function splitOciLayoutValue(value: string): {
  path: string;
  tag: string | undefined;
  digest: string | undefined;
} {
  let path = value.slice(ociLayoutPrefix.length);
  let digest: string | undefined;
  let tag: string | undefined;
  const at = path.lastIndexOf("@");
  if (at >= 0 && digestPattern.test(path.slice(at + 1))) {
    digest = path.slice(at + 1);
    path = path.slice(0, at);
  }
  const colon = path.lastIndexOf(":");
  if (colon >= 0 && tagPattern.test(path.slice(colon + 1))) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
  }
  if (tag === undefined && digest === undefined) tag = "latest";
  return { path, tag, digest };
}

async function parseOciLayoutValue(name: string, value: string, cwd: string): Promise<NamedContext> {
  const { path, tag, digest } = splitOciLayoutValue(value);
  const shown = JSON.stringify(path);
  if (path === "") {
    throw new UserError(`--build-context ${name}=${value}: no layout directory`, {
      hint: "write oci-layout://PATH[:TAG] or oci-layout://PATH@sha256:DIGEST, PATH a directory made by `-o type=oci,tar=false` or skopeo",
    });
  }
  if (digest !== undefined && !/^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/.test(digest)) {
    throw new UserError(
      `--build-context ${name}: ${JSON.stringify(digest)} is not a sha256 or sha512 digest`,
      {
        hint: "write oci-layout://PATH@sha256:<64 hex digits>",
      },
    );
  }
  const abs = resolve(cwd, path);
  let isDir = false;
  try {
    isDir = (await stat(abs)).isDirectory();
  } catch {
    throw new UserError(`--build-context ${name}: OCI layout directory ${shown} does not exist`, {
      hint: "PATH is relative to the current directory; make a layout with `-o type=oci,tar=false,dest=DIR` or `skopeo copy … oci:DIR:TAG`",
    });
  }
  if (!isDir) {
    throw new UserError(`--build-context ${name}: ${shown} is not a directory`, {
      hint: "an oci-layout:// context names an OCI image layout directory (unpack an OCI tar first)",
    });
  }
  return { name, kind: "oci-layout", path: await realpath(abs), tag, digest };
}
