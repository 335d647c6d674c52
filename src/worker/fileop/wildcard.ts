/**
 * Wildcard sources (`COPY *.txt /dst/`, `COPY src/x*y/conf /dst/`) with the semantics BuildKit has, which
 * are Go's filepath.Match: `*` is any run of characters but "/", `?` one character but "/", `[a-z]`/`[^0-9]` a class,
 * `\` escapes the next character. `**` is not special here (it is `*` twice); it is only in include and
 * exclude patterns (patterns.ts). The path is split at its first component holding a wildcard: the part
 * before is a plain path (symlinks followed), the part after is matched against the tree below it,
 * component by component, in byte order of names, without following symlinks into directories.
 */
import { lstatSync, readdirSync } from "node:fs";
import { resolveInRoot } from "./root-path.ts";

/** Whether a path has `*`, `?` or `[` that is not escaped with a backslash. */
export function containsWildcards(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === "\\") i++;
    else if (c === "*" || c === "?" || c === "[") return true;
  }
  return false;
}

/** Splits a path before its first component that holds a wildcard: [plain prefix, pattern components]. */
export function splitWildcards(path: string): [string, string[]] {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  const at = parts.findIndex(containsWildcards);
  if (at < 0) return [`/${parts.join("/")}`, []];
  return [`/${parts.slice(0, at).join("/")}`, parts.slice(at)];
}

const compiled = new Map<string, RegExp | null>();

/** Go's filepath.Match for one path component; a malformed pattern matches nothing (as BuildKit ignores it). */
export function matchComponent(pattern: string, name: string): boolean {
  let re = compiled.get(pattern);
  if (re === undefined) {
    re = compileComponent(pattern);
    compiled.set(pattern, re);
  }
  return re?.test(name) === true;
}

function literal(ch: string): string {
  return `\\u{${ch.codePointAt(0)!.toString(16)}}`;
}

function compileComponent(pattern: string): RegExp | null {
  const chars = [...pattern];
  let out = "^";
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else if (c === "\\") {
      if (i + 1 >= chars.length) return null;
      out += literal(chars[++i]!);
    } else if (c === "[") {
      const cls = compileClass(chars, i + 1);
      if (cls === null) return null;
      out += cls.text;
      i = cls.end;
    } else out += literal(c);
  }
  return new RegExp(`${out}$`, "u");
}

/** A bracket class starting after "[" at `start`; returns the JS class and the index of its "]". */
function compileClass(chars: string[], start: number): { text: string; end: number } | null {
  let i = start;
  let negated = false;
  if (chars[i] === "^") {
    negated = true;
    i++;
  }
  // One class character: escaped or plain, but an unescaped "-" or "]" is malformed here (Go's getEsc).
  const one = (): string | null => {
    let c = chars[i];
    if (c === undefined || c === "-" || c === "]") return null;
    if (c === "\\") {
      i++;
      c = chars[i];
      if (c === undefined) return null;
    }
    i++;
    return c;
  };
  let items = "";
  let count = 0;
  for (;;) {
    if (chars[i] === "]" && count > 0) break;
    const lo = one();
    if (lo === null) return null;
    let hi = lo;
    if (chars[i] === "-") {
      i++;
      const h = one();
      if (h === null) return null;
      hi = h;
    }
    if (lo.codePointAt(0)! > hi.codePointAt(0)!) return null;
    items += lo === hi ? literal(lo) : `${literal(lo)}-${literal(hi)}`;
    count++;
  }
  // A negated class never matches "/", as in Go (names have none anyway).
  return { text: negated ? `[^/${items}]` : `[${items}]`, end: i };
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export interface WildcardMatch {
  /** The selected path, logical and absolute (the plain prefix as it resolved). */
  path: string;
  /** The path below the plain prefix, as the pattern part matched it ("" without wildcards). */
  rel: string;
}

/**
 * What a source with wildcards selects in `root`; for a path without wildcards, the path itself (existing
 * or not). `followLinks` decides whether a symlink that is the plain prefix's last component is followed.
 */
export function matchWildcards(root: string, src: string, followLinks: boolean): WildcardMatch[] {
  const [prefix, pattern] = splitWildcards(src);
  if (pattern.length === 0) return [{ path: prefix, rel: "" }];
  const base = resolveInRoot(root, prefix, followLinks);
  const out: WildcardMatch[] = [];
  const walk = (host: string, logical: string, rel: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(host);
    } catch {
      return;
    }
    for (const name of names.sort(byteOrder)) {
      if (!matchComponent(pattern[depth]!, name)) continue;
      const childHost = `${host}/${name}`;
      const childLogical = logical === "/" ? `/${name}` : `${logical}/${name}`;
      const childRel = rel === "" ? name : `${rel}/${name}`;
      if (depth === pattern.length - 1) out.push({ path: childLogical, rel: childRel });
      else if (lstatSync(childHost).isDirectory()) walk(childHost, childLogical, childRel, depth + 1);
    }
  };
  let isDir = false;
  try {
    isDir = lstatSync(base.host).isDirectory();
  } catch {
    // A missing prefix (or a file where it needs a directory) selects nothing.
  }
  if (isDir) walk(base.host, base.logical, "", 0);
  return out;
}

/** The paths of matchWildcards. */
export function resolveWildcards(root: string, src: string, followLinks: boolean): string[] {
  return matchWildcards(root, src, followLinks).map((m) => m.path);
}
