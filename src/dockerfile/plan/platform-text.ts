import { formatPlatform, type Platform, parsePlatform } from "../../oci/platform.ts";

// Progress names and image lookups format the same few platforms at every step, and TARGETPLATFORM holds
// the same few strings; both answers are kept. Only frozen platforms (see graph/build.ts's
// canonicalPlatform) are remembered, as a mutable one could change after being formatted.
const texts = new WeakMap<Platform, string>();
const parsed = new Map<string, Readonly<Platform> | undefined>();
const MAX_PARSED = 256;

/** `formatPlatform(p)`, computed once per frozen platform. */
export function platformText(p: Platform): string {
  let text = texts.get(p);
  if (text === undefined) {
    text = formatPlatform(p);
    if (Object.isFrozen(p)) texts.set(p, text);
  }
  return text;
}

/** `parsePlatform(text)` (frozen), or undefined when the text is not a platform. */
export function parsePlatformOrUndefined(text: string): Readonly<Platform> | undefined {
  if (parsed.has(text)) return parsed.get(text);
  let p: Readonly<Platform> | undefined;
  try {
    p = Object.freeze(parsePlatform(text));
  } catch {
    p = undefined;
  }
  if (parsed.size < MAX_PARSED) parsed.set(text, p);
  return p;
}
