/**
 * Git URLs as buildx and BuildKit read them in a build context, `--build-context NAME=…` and `ADD`:
 * `https://host/repo.git#ref:subdir`, `git://…`, `ssh://…`, `git@host:repo.git`, and `github.com/owner/repo`
 * (https is meant). The fragment names a branch, tag or commit and a directory inside the checkout; both
 * are optional.
 *
 * Only the schemes git may use here are recognised: `file://`, `ext::` and other transports are never
 * a git URL (a hostile Dockerfile or submodule must not make polyarch read host files or run commands).
 */
export interface GitUrl {
  /** What `git fetch` is given (without the fragment). */
  remote: string;
  /** Branch, tag or full commit id; "" means the remote's default branch. */
  ref: string;
  /** A directory inside the checkout, without leading or trailing slashes; "" means all of it. */
  subdir: string;
}

/** Whether `text` names a git repository (BuildKit's test: a git scheme, `git@`, or an http URL ending in .git). */
export function isGitUrl(text: string): boolean {
  const base = withoutFragment(text);
  if (/^git@[^:/]+:/.test(base) || /^(git|ssh):\/\/[^/]/.test(base)) return true;
  if (/^github\.com\/[^/]+\/[^/]+/.test(base)) return true;
  return /^https?:\/\/[^/]+\/.+\.git\/?$/.test(base);
}

/** Splits a git URL into remote, ref and subdir; undefined when it is not a git URL. */
export function parseGitUrl(text: string): GitUrl | undefined {
  if (!isGitUrl(text)) return undefined;
  const hash = text.indexOf("#");
  let remote = hash < 0 ? text : text.slice(0, hash);
  if (remote.startsWith("github.com/")) remote = `https://${remote}`;
  const fragment = hash < 0 ? "" : text.slice(hash + 1);
  const colon = fragment.indexOf(":");
  const ref = colon < 0 ? fragment : fragment.slice(0, colon);
  const subdir = colon < 0 ? "" : fragment.slice(colon + 1);
  return { remote, ref, subdir: subdir.replace(/^\/+|\/+$/g, "") };
}

/** The URL as written back: remote, then `#ref[:subdir]` when there is one. */
export function formatGitUrl(url: GitUrl): string {
  if (url.ref === "" && url.subdir === "") return url.remote;
  return `${url.remote}#${url.ref}${url.subdir === "" ? "" : `:${url.subdir}`}`;
}

/** The remote with any password (and a token given as user) removed, for messages and progress. */
export function redactGitRemote(remote: string): string {
  return remote.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, "$1");
}

function withoutFragment(text: string): string {
  const hash = text.indexOf("#");
  return hash < 0 ? text : text.slice(0, hash);
}
