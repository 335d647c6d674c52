/**
 * Git URLs as buildx and BuildKit read them in a build context, `--build-context NAME=…` and `ADD`:
 * `https://host/repo.git#ref:subdir`, `git://…`, `ssh://…`, `git@host:repo.git`, and `github.com/owner/repo`
 * (https is meant). The fragment names a branch, tag or commit and a directory inside the checkout; both
 * are optional.
 *
 * BuildKit v0.24 also reads a query before the fragment: `?ref=&tag=&branch=&subdir=&checksum=` (or
 * `commit=`) `&keep-git-dir=&submodules=`. A query value that disagrees with the fragment, a repeated or
 * empty key, or an unknown key is an error with BuildKit's words, so a URL never means two things.
 *
 * Only the schemes git may use here are recognised: `file://`, `ext::` and other transports are never
 * a git URL (a hostile Dockerfile or submodule must not make polyarch read host files or run commands).
 */
import { UserError } from "../errors/user-error.ts";

export interface GitUrl {
  /** What `git fetch` is given (without the query and the fragment). */
  remote: string;
  /** Branch, tag or full commit id; "" means the remote's default branch. */
  ref: string;
  /** A directory inside the checkout, without leading or trailing slashes; "" means all of it. */
  subdir: string;
}

/** What the query adds to a parsed URL; each is absent when the URL does not say. */
export interface GitUrlOptions {
  /** The commit id (or a prefix of it) the ref must resolve to (`?checksum=` or `?commit=`). */
  checksum?: string;
  keepGitDir?: boolean;
  submodules?: boolean;
}

export type ParsedGitUrl = GitUrl & GitUrlOptions;

/** Whether `text` names a git repository (BuildKit's test: a git scheme, `git@`, or an http URL ending in .git). */
export function isGitUrl(text: string): boolean {
  const base = withoutQuery(withoutFragment(text));
  if (/^git@[^:/]+:/.test(base) || /^(git|ssh):\/\/[^/]/.test(base)) return true;
  if (/^github\.com\/[^/]+\/[^/]+/.test(base)) return true;
  return /^https?:\/\/[^/]+\/.+\.git\/?$/.test(base);
}

/**
 * Splits a git URL into remote, ref, subdir and the query's options; undefined when it is not a git URL.
 * Throws a UserError when it is one but its query is not what BuildKit accepts.
 */
export function parseGitUrl(text: string): ParsedGitUrl | undefined {
  if (!isGitUrl(text)) return undefined;
  const hash = text.indexOf("#");
  const beforeFragment = hash < 0 ? text : text.slice(0, hash);
  const question = beforeFragment.indexOf("?");
  let remote = question < 0 ? beforeFragment : beforeFragment.slice(0, question);
  if (remote.startsWith("github.com/")) remote = `https://${remote}`;
  const fragment = hash < 0 ? "" : text.slice(hash + 1);
  checkFragmentForm(fragment, redactGitRemote(remote));
  const colon = fragment.indexOf(":");
  const parsed: ParsedGitUrl = {
    remote,
    ref: colon < 0 ? fragment : fragment.slice(0, colon),
    subdir: colon < 0 ? "" : fragment.slice(colon + 1),
  };
  if (question >= 0) applyQuery(parsed, beforeFragment.slice(question + 1), redactGitRemote(remote));
  parsed.subdir = parsed.subdir.replace(/^\/+|\/+$/g, "");
  return parsed;
}

// Keys other tools write in a fragment (buf's `#branch=main,subdir=proto`). BuildKit takes the whole
// fragment for `ref:subdir`, so such a URL would ask git for a branch named `ref=main,subdir=proto`; it is
// refused with the form BuildKit reads instead.
const fragmentKeys = /^(?:ref|branch|tag|subdir|commit|checksum|keep-git-dir|submodules)=/;

function checkFragmentForm(fragment: string, shown: string): void {
  if (!fragmentKeys.test(fragment)) return;
  const query = fragment.split(",").join("&");
  throw new UserError(`git URL ${shown}#${fragment}: a fragment is #REF[:SUBDIR], not KEY=VALUE pairs`, {
    hint: `write the pairs as a query: ${shown}?${query} (or #REF:SUBDIR)`,
  });
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

// Keys whose empty value means "true" (`?keep-git-dir`), as in BuildKit.
const flagKeys = new Set(["keep-git-dir", "submodules"]);

function applyQuery(url: ParsedGitUrl, query: string, shown: string): void {
  const fail = (message: string): never => {
    throw new UserError(`${message} (git URL ${shown})`, {
      hint: "a git URL's query takes each of ref, tag, branch, subdir, checksum (or commit), keep-git-dir and submodules at most once, agreeing with the #ref:subdir part",
    });
  };
  const values = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(query)) values.set(key, [...(values.get(key) ?? []), value]);
  let tag = "";
  let branch = "";
  for (const [key, all] of values) {
    if (all.length > 1) fail(`query ${JSON.stringify(key)} has multiple values`);
    const value = all[0]!;
    if (value === "" && !flagKeys.has(key)) fail(`query ${JSON.stringify(key)} has no value`);
    switch (key) {
      case "ref":
        if (url.ref !== "" && url.ref !== value) fail(`ref conflicts: ${quote(url.ref)} vs ${quote(value)}`);
        url.ref = value;
        break;
      case "tag":
        tag = value;
        break;
      case "branch":
        branch = value;
        break;
      case "subdir":
        if (url.subdir !== "" && url.subdir !== value)
          fail(`subdir conflicts: ${quote(url.subdir)} vs ${quote(value)}`);
        url.subdir = value;
        break;
      case "checksum":
      case "commit":
        url.checksum = value;
        break;
      case "keep-git-dir":
        url.keepGitDir = goBool(value, () => fail(`invalid keep-git-dir value: ${quote(value)}`));
        break;
      case "submodules":
        url.submodules = goBool(value, () => fail(`invalid submodules value: ${quote(value)}`));
        break;
      default:
        fail(`unexpected query ${quote(key)}`);
    }
  }
  // A tag or branch is pinned to its namespace, so a branch and a tag of the same name cannot be confused.
  if (tag !== "") {
    const full = tag.startsWith("refs/tags/") ? tag : `refs/tags/${tag}`;
    if (url.ref !== "" && url.ref !== full) fail(`ref conflicts: ${quote(url.ref)} vs ${quote(full)}`);
    url.ref = full;
  }
  if (branch !== "") {
    if (tag !== "") fail("branch conflicts with tag");
    const full = branch.startsWith("refs/heads/") ? branch : `refs/heads/${branch}`;
    if (url.ref !== "" && url.ref !== full) fail(`ref conflicts: ${quote(url.ref)} vs ${quote(full)}`);
    url.ref = full;
  }
  if (url.checksum !== undefined && url.ref === "") url.ref = url.checksum;
}

/** Go's strconv.ParseBool, which BuildKit uses; "" (a bare key) is true. */
function goBool(value: string, invalid: () => never): boolean {
  if (value === "" || ["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  return invalid();
}

function quote(text: string): string {
  return JSON.stringify(text);
}

function withoutFragment(text: string): string {
  const hash = text.indexOf("#");
  return hash < 0 ? text : text.slice(0, hash);
}

function withoutQuery(text: string): string {
  const question = text.indexOf("?");
  return question < 0 ? text : text.slice(0, question);
}
