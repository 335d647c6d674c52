// Here-documents: which words of a RUN/COPY/ADD line open one (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`,
// `<< EOF`), and how the body is read. Detection follows BuildKit: the line is cut into shell words with
// quotes and escapes kept, and a word is a heredoc when it is `[digits]<<[-]WORD` with WORD one shell word.

import type { Heredoc } from "../ast.ts";
import { lex, ShellSyntaxError } from "../shell/lexer.ts";

export interface HeredocSpec {
  name: string;
  expand: boolean;
  chomp: boolean;
  fileDescriptor: number | undefined;
  /** Offset of the word in the line. */
  start: number;
}

const heredocWord = /^(\d*)<<(-?)([^<]*)$/;
const unset = () => undefined;

/** The heredoc openers in `line`, in order. A line the shell lexer cannot cut has none, as in BuildKit. */
export function findHeredocs(line: string): HeredocSpec[] {
  let words: string[];
  let starts: number[];
  try {
    const r = lex(line, unset, { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
    words = r.words;
    starts = r.wordStarts;
  } catch (e) {
    if (e instanceof ShellSyntaxError) return [];
    throw e;
  }
  const out: HeredocSpec[] = [];
  words.forEach((w, i) => {
    const spec = parseHeredocWord(w);
    if (spec) out.push({ ...spec, start: starts[i] ?? 0 });
  });
  return out;
}

/** Parses one word such as `<<-"EOF"`; undefined when it is not a heredoc opener. */
export function parseHeredocWord(word: string): Omit<HeredocSpec, "start"> | undefined {
  const m = heredocWord.exec(word);
  if (!m) return undefined;
  const rest = m[3] ?? "";
  if (rest === "") return undefined;
  let plain: string[];
  let raw: string[];
  try {
    plain = lex(rest, unset, { skipUnsetEnv: true }).words;
    raw = lex(rest, unset, { skipUnsetEnv: true, rawQuotes: true }).words;
  } catch (e) {
    if (e instanceof ShellSyntaxError) return undefined;
    throw e;
  }
  if (plain.length !== 1 || raw.length !== 1) return undefined;
  const name = plain[0]!;
  // Quotes anywhere in the delimiter (`"EOF"`, `'EOF'`, `E"O"F`) turn expansion of the body off.
  const expand = countQuotes(name) === countQuotes(raw[0]!);
  const digits = m[1] ?? "";
  const fd = digits === "" ? undefined : Number(digits);
  return {
    name,
    expand,
    chomp: m[2] === "-",
    fileDescriptor: fd !== undefined && Number.isSafeInteger(fd) ? fd : undefined,
  };
}

function countQuotes(s: string): number {
  let n = 0;
  for (const c of s) if (c === "'" || c === '"') n++;
  return n;
}

/** The body of a heredoc as the instruction uses it: leading tabs removed from every line for `<<-`. */
export function heredocBody(h: Pick<Heredoc, "content" | "chomp">): string {
  if (!h.chomp) return h.content;
  return h.content
    .split("\n")
    .map((l) => l.replace(/^\t+/, ""))
    .join("\n");
}
