// STOPSIGNAL accepts what moby's signal.ParseSignal accepts on Linux: a number, or a name with or without
// the SIG prefix (any case), including the real-time signals RTMIN+n and RTMAX-n.
const names = new Set([
  "ABRT",
  "ALRM",
  "BUS",
  "CHLD",
  "CLD",
  "CONT",
  "FPE",
  "HUP",
  "ILL",
  "INT",
  "IO",
  "IOT",
  "KILL",
  "PIPE",
  "POLL",
  "PROF",
  "PWR",
  "QUIT",
  "SEGV",
  "STKFLT",
  "STOP",
  "SYS",
  "TERM",
  "TRAP",
  "TSTP",
  "TTIN",
  "TTOU",
  "URG",
  "USR1",
  "USR2",
  "VTALRM",
  "WINCH",
  "XCPU",
  "XFSZ",
  "RTMIN",
  "RTMAX",
]);

export function isValidSignal(raw: string): boolean {
  if (/^\d+$/.test(raw)) return Number(raw) > 0;
  const name = raw.toUpperCase().replace(/^SIG/, "");
  if (names.has(name)) return true;
  const rt = /^RTMIN\+(\d+)$/.exec(name) ?? /^RTMAX-(\d+)$/.exec(name);
  return rt !== null && Number(rt[1]) >= 1 && Number(rt[1]) <= 14 + (name.startsWith("RTMIN") ? 1 : 0);
}
