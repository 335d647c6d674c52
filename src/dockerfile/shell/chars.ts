// Character classes as Go's `unicode` package defines them, because BuildKit's lexer and parser use those
// (JavaScript's \s differs: it includes U+FEFF and misses U+0085).

/** Go's unicode.IsSpace. */
export function isGoSpace(cp: number): boolean {
  switch (cp) {
    case 0x09:
    case 0x0a:
    case 0x0b:
    case 0x0c:
    case 0x0d:
    case 0x20:
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200a;
  }
}

const letter = /^\p{L}$/u;
const digit = /^\p{Nd}$/u;

/** Go's unicode.IsLetter. */
export function isGoLetter(cp: number): boolean {
  if (cp < 0x80) return (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
  return letter.test(String.fromCodePoint(cp));
}

/** Go's unicode.IsDigit. */
export function isGoDigit(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x30 && cp <= 0x39;
  return digit.test(String.fromCodePoint(cp));
}

/** Go's strings.TrimSpace. */
export function trimGoSpace(s: string): string {
  return trimGoSpaceRight(trimGoSpaceLeft(s));
}

export function trimGoSpaceLeft(s: string): string {
  let i = 0;
  while (i < s.length) {
    const cp = s.codePointAt(i)!;
    if (!isGoSpace(cp)) break;
    i += cp > 0xffff ? 2 : 1;
  }
  return s.slice(i);
}

export function trimGoSpaceRight(s: string): string {
  let j = s.length;
  while (j > 0 && isGoSpace(s.charCodeAt(j - 1))) j--;
  return s.slice(0, j);
}
