/**
 * The name an `ADD <url>` download gets: the last segment of the URL's path, percent-decoded first and
 * cut after, as BuildKit's Dockerfile frontend takes `path.Base(u.Path)` of Go's decoded path. Decoding
 * after cutting would turn `/x/..%2F..%2Fetc%2Fcron.d%2Fjob` into a path; decoding first gives `job`.
 * The name is carried by the graph, which may come from anywhere (a remote client, a hand-written
 * definition), so whoever writes the file checks it again with `isBaseName`.
 */

/** What BuildKit's frontend names a download whose URL has no usable last segment. */
export const unnamedDownload = "__unnamed__";

/** A single directory entry name: not empty, not `.` or `..`, no `/` and no NUL. */
export function isBaseName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\0");
}

export function fileNameFromUrl(url: string): string {
  let path: string;
  try {
    // The WHATWG parser has already resolved `.`/`..` segments (also `%2e%2e`) and, for http(s), read
    // backslashes as slashes.
    path = decodeURIComponent(new URL(url).pathname);
  } catch {
    return unnamedDownload;
  }
  const base = path.slice(path.lastIndexOf("/") + 1);
  return isBaseName(base) ? base : unnamedDownload;
}
