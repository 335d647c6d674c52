// BuildKit writes some history entries with Go's fmt verbs (`CMD %q`, `VOLUME %v`, `HEALTHCHECK %+v`).
// Images built by polyarch should carry the same `created_by` text, so these helpers reproduce Go's output.

/** Go's strconv.Quote for the strings BuildKit quotes (`%q`). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case "\x07":
        out += "\\a";
        continue;
      case "\b":
        out += "\\b";
        continue;
      case "\f":
        out += "\\f";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "\v":
        out += "\\v";
        continue;
    }
    if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else if (cp >= 0x80 && cp < 0xa0) out += `\\u${cp.toString(16).padStart(4, "0")}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += "\\ufffd";
    else out += ch;
  }
  return `${out}"`;
}

/** `%q` of a []string: `["a" "b"]`. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map(goQuote).join(" ")}]`;
}

/** `%v` of a []string: `[a b]`. */
export function goList(list: readonly string[]): string {
  return `[${list.join(" ")}]`;
}

const NS = 1;
const US = 1000 * NS;
const MS = 1000 * US;
const SEC = 1000 * MS;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const units: Record<string, number> = { ns: NS, us: US, µs: US, μs: US, ms: MS, s: SEC, m: MIN, h: HOUR };

/** Go's time.ParseDuration (`1m30s`, `300ms`, `1.5h`, `0`) in nanoseconds; undefined when malformed. */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") return undefined;
  let total = 0;
  const part = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (s !== "") {
    const m = part.exec(s);
    if (!m || (m[1] === "" && (m[2] === undefined || m[2] === ""))) return undefined;
    const unit = units[m[3]!]!;
    const whole = m[1] === "" ? 0 : Number(m[1]);
    const frac = m[2] ? Number(`0.${m[2]}`) : 0;
    total += whole * unit + Math.round(frac * unit);
    s = s.slice(m[0].length);
  }
  if (!Number.isSafeInteger(total)) return undefined;
  return sign * total;
}

/** Go's time.Duration.String: `5m0s`, `1h0m0s`, `300ms`, `1.5s`, `0s`. */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return "0s";
  const neg = ns < 0;
  let u = Math.abs(ns);
  let out: string;
  if (u < SEC) {
    // Sub-second values use the largest unit that keeps a non-zero integer part.
    let unit: string;
    let size: number;
    if (u < US) {
      unit = "ns";
      size = NS;
    } else if (u < MS) {
      unit = "µs";
      size = US;
    } else {
      unit = "ms";
      size = MS;
    }
    out = fixed(u, size) + unit;
  } else {
    const h = Math.floor(u / HOUR);
    u -= h * HOUR;
    const m = Math.floor(u / MIN);
    u -= m * MIN;
    const sec = fixed(u, SEC);
    out = h > 0 ? `${h}h${m}m${sec}s` : m > 0 ? `${m}m${sec}s` : `${sec}s`;
  }
  return neg ? `-${out}` : out;
}

// value/size with the fraction's trailing zeros dropped, as Go's fmtFrac does.
function fixed(value: number, size: number): string {
  const whole = Math.floor(value / size);
  const rest = value - whole * size;
  if (rest === 0) return String(whole);
  const digits = String(size).length - 1;
  const frac = String(rest).padStart(digits, "0").replace(/0+$/, "");
  return `${whole}.${frac}`;
}
