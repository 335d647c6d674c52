/** A parsed `WWW-Authenticate` challenge (RFC 7235) as registries send it. */
export interface AuthChallenge {
  scheme: string; // lower case: "bearer", "basic"
  params: Record<string, string>;
}

/**
 * Parses a WWW-Authenticate header value. Handles several challenges in one header and quoted strings with
 * escapes and commas (scope lists such as `repository:a:pull,push` contain commas).
 */
export function parseAuthChallenges(header: string | string[] | undefined): AuthChallenge[] {
  if (!header) return [];
  const text = Array.isArray(header) ? header.join(", ") : header;
  const out: AuthChallenge[] = [];
  let i = 0;
  const n = text.length;
  const skipSpace = () => {
    while (i < n && /[\s,]/.test(text[i]!)) i++;
  };
  while (i < n) {
    skipSpace();
    const schemeStart = i;
    while (i < n && /[A-Za-z0-9!#$%&'*+.^_`|~-]/.test(text[i]!)) i++;
    const scheme = text.slice(schemeStart, i).toLowerCase();
    if (!scheme) break;
    const params: Record<string, string> = {};
    for (;;) {
      while (i < n && (text[i] === " " || text[i] === "\t")) i++;
      const save = i;
      const keyStart = i;
      while (i < n && /[A-Za-z0-9!#$%&'*+.^_`|~-]/.test(text[i]!)) i++;
      const key = text.slice(keyStart, i).toLowerCase();
      while (i < n && text[i] === " ") i++;
      if (!key || text[i] !== "=") {
        // Not a parameter: the start of the next challenge.
        i = save;
        break;
      }
      i++;
      while (i < n && text[i] === " ") i++;
      let value = "";
      if (text[i] === '"') {
        i++;
        while (i < n && text[i] !== '"') {
          if (text[i] === "\\" && i + 1 < n) i++;
          value += text[i];
          i++;
        }
        i++;
      } else {
        const vs = i;
        while (i < n && text[i] !== "," && text[i] !== " ") i++;
        value = text.slice(vs, i);
      }
      params[key] = value;
      while (i < n && (text[i] === " " || text[i] === "\t")) i++;
      if (text[i] === ",") i++;
      else break;
    }
    out.push({ scheme, params });
  }
  return out;
}
