// Go's time.ParseDuration, which Docker uses for HEALTHCHECK --interval and friends: a sequence of decimal
// numbers with units (ns us µs μs ms s m h), optional sign, "0" allowed without a unit.

const unitNs: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "\u00b5s": 1e3,
  "\u03bcs": 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const MAX_NS = 2 ** 63 - 1;

/** Nanoseconds for a Go duration string, or undefined when it is not one. */
export function parseGoDuration(s: string): number | undefined {
  let i = 0;
  let sign = 1;
  if (s[0] === "-" || s[0] === "+") {
    if (s[0] === "-") sign = -1;
    i = 1;
  }
  if (s.slice(i) === "0") return 0;
  if (i >= s.length) return undefined;
  let total = 0;
  while (i < s.length) {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s.slice(i))!;
    const whole = m[1] ?? "";
    const frac = m[2];
    if (whole === "" && (frac === undefined || frac === "")) return undefined;
    i += m[0].length;
    const u = /^[^\d.]+/.exec(s.slice(i));
    if (!u) return undefined;
    const scale = unitNs[u[0]];
    if (scale === undefined) return undefined;
    i += u[0].length;
    total += Number(whole || "0") * scale + (frac ? Number(`0.${frac}`) * scale : 0);
    if (total > MAX_NS) return undefined;
  }
  return sign * Math.floor(total);
}
