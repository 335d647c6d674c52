import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { hasWildcard, segmentMatches } from "./glob-segments.ts";

// As the kernel's limit on links followed while resolving one path.
const maxHops = 40;

/**
 * The paths a COPY source needs from the context when it is, or goes through, a symlink inside the context:
 * `COPY link/foo .` with `link -> real` needs `link` and `real/foo`, not only `link/foo` (which the listing
 * never sees, since it never follows a link). BuildKit's context transfer does the same (fsutil's
 * FollowPaths follows links in the requested paths). Each returned path is context-relative; the source
 * patterns themselves are kept. A link is resolved inside the context: an absolute target starts at the
 * context root and `..` stops there, so nothing outside is ever read; a link whose target is missing adds
 * nothing, and the copy reports it. Links below the named path are not followed (a copied directory keeps
 * its links as links, as in BuildKit); `**` patterns are left to the listing.
 */
export async function withLinkTargets(root: string, patterns: readonly string[]): Promise<string[]> {
  const found = new Set<string>(patterns);
  for (const p of patterns) {
    if (p.includes("**")) continue;
    await follow(root, splitPath(p), found, 0);
  }
  return [...found];
}

async function follow(root: string, parts: string[], found: Set<string>, hops: number): Promise<void> {
  const cur: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const seg = parts[i]!;
    if (seg === "..") {
      cur.pop();
      continue;
    }
    if (hasWildcard(seg)) {
      let names: string[];
      try {
        names = await readdir(join(root, ...cur));
      } catch {
        return;
      }
      for (const name of names.sort()) {
        if (segmentMatches(seg, name)) await follow(root, [...cur, name, ...parts.slice(i + 1)], found, hops);
      }
      return;
    }
    const next = [...cur, seg];
    const rel = next.join("/");
    let isLink: boolean;
    try {
      isLink = (await lstat(join(root, rel))).isSymbolicLink();
    } catch {
      return;
    }
    if (isLink) {
      if (hops >= maxHops) return;
      found.add(rel);
      const target = await readlink(join(root, rel));
      const base = target.startsWith("/") ? [] : cur;
      await follow(root, [...base, ...splitPath(target), ...parts.slice(i + 1)], found, hops + 1);
      return;
    }
    cur.push(seg);
  }
  if (cur.length > 0 && hops > 0) found.add(cur.join("/"));
}

function splitPath(path: string): string[] {
  return path.split("/").filter((s) => s !== "" && s !== ".");
}
