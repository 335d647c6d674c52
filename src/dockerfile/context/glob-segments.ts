/**
 * Decides whether a directory may hold a match for a context include pattern, so a walk descends only
 * where it can find something. Patterns use Go's filepath.Match syntax per segment (`*`, `?`, `[…]`,
 * `\` escapes) plus `**` for any number of segments, as in `.dockerignore`.
 */
export function mayContainMatch(dirPath: string, pattern: string): boolean {
  const dirSegments = dirPath === "" ? [] : dirPath.split("/");
  const patternSegments = cleanPattern(pattern).split("/");
  for (let i = 0; i < dirSegments.length; i++) {
    const p = patternSegments[i];
    if (p === undefined) return false;
    if (p === "**") return true;
    if (!segmentRegex(p).test(dirSegments[i]!)) return false;
  }
  return true;
}

/** Whether one path segment (a name) matches one pattern segment (`*`, `?`, `[…]`, `\` escapes). */
export function segmentMatches(patternSegment: string, name: string): boolean {
  return segmentRegex(patternSegment).test(name);
}

/** Whether a pattern segment holds a wildcard (so it must be matched against a directory's names). */
export function hasWildcard(patternSegment: string): boolean {
  return /[*?[\\]/.test(patternSegment);
}

function cleanPattern(pattern: string): string {
  return pattern
    .split("/")
    .filter((s) => s !== "" && s !== ".")
    .join("/");
}

const cache = new Map<string, RegExp>();

function segmentRegex(segment: string): RegExp {
  let re = cache.get(segment);
  if (re) return re;
  let src = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === "*") src += "[^/]*";
    else if (c === "?") src += "[^/]";
    else if (c === "\\" && i + 1 < segment.length) src += escapeRegex(segment[++i]!);
    else if (c === "[") {
      const end = segment.indexOf("]", i + 2);
      if (end < 0) {
        src += "\\[";
        continue;
      }
      let body = segment.slice(i + 1, end);
      if (body.startsWith("^")) body = `!${body.slice(1)}`;
      src += body.startsWith("!") ? `[^${escapeClass(body.slice(1))}]` : `[${escapeClass(body)}]`;
      i = end;
    } else src += escapeRegex(c);
  }
  re = new RegExp(`^${src}$`);
  cache.set(segment, re);
  return re;
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function escapeClass(body: string): string {
  return body.replace(/[\\\]^]/g, "\\$&");
}
