// Turns one logical line into a typed instruction, with the argument rules the reference and BuildKit give
// each keyword. Heredoc bodies are attached afterwards by the file reader (they follow the line).

import type {
  ArgDeclaration,
  CommandForm,
  Comment,
  ExecForm,
  Flag,
  HealthcheckTimings,
  Instruction,
  InstructionBase,
  KeyValue,
  Keyword,
  Position,
  Word,
} from "../ast.ts";
import { DockerfileError, type DockerfileSource, didYouMean } from "../errors.ts";
import { isGoSpace } from "../shell/chars.ts";
import { parseGoDuration } from "./duration.ts";
import { readFlags } from "./flags.ts";
import { parseHeredocWord } from "./heredoc.ts";
import type { LogicalLine } from "./logical-line.ts";
import { splitCommand } from "./split-command.ts";
import {
  type OffsetWord,
  parseJsonArray,
  splitOnBlanks,
  splitOnceOnBlanks,
  splitQuotedWords,
} from "./words.ts";

export const KEYWORDS: readonly Keyword[] = [
  "ADD",
  "ARG",
  "CMD",
  "COPY",
  "ENTRYPOINT",
  "ENV",
  "EXPOSE",
  "FROM",
  "HEALTHCHECK",
  "LABEL",
  "MAINTAINER",
  "ONBUILD",
  "RUN",
  "SHELL",
  "STOPSIGNAL",
  "USER",
  "VOLUME",
  "WORKDIR",
];

const keywordSet = new Set<string>(KEYWORDS);
const ignoresFlags = new Set<Keyword>(["ARG", "STOPSIGNAL"]);

export interface BuildContext {
  source: DockerfileSource;
  escapeChar: string;
  /** The syntax directive asks for the labs channel: labs-only flags are accepted. */
  labs: boolean;
}

/** What the reader knows about the instruction's place in the file. */
export interface LineContext {
  startLine: number;
  endLine: number;
  original: string;
  comments: Comment[];
}

const noHealthcheckFlags = {
  interval: undefined,
  timeout: undefined,
  startPeriod: undefined,
  startInterval: undefined,
  retries: undefined,
  timings: undefined,
};

/** Builds the instruction written in `line` from offset `from` (0, or after `ONBUILD`). */
export function buildInstruction(
  line: LogicalLine,
  from: number,
  ctx: BuildContext,
  where: LineContext,
): Instruction {
  const split = splitCommand(line.text, from, ctx.escapeChar);
  const pos = line.posAt(split.keywordStart);
  const upper = split.keyword.toUpperCase();
  const fail = (message: string, at: Position = pos, hint?: string): never => {
    throw new DockerfileError(message, ctx.source, at, hint === undefined ? {} : { hint });
  };
  if (!keywordSet.has(upper)) {
    const suggestion = didYouMean(split.keyword, KEYWORDS);
    fail(
      // As BuildKit words it: the keyword as written, e.g. `unknown instruction: copyy (did you mean copy?)`.
      `unknown instruction: ${split.keyword}${suggestion ? ` (${suggestion})` : ""}`,
      pos,
      suggestion ? undefined : `instructions are ${KEYWORDS.join(", ")}`,
    );
  }
  const keyword = upper as Keyword;
  // BuildKit reads flags off ARG and STOPSIGNAL and never checks them (`ARG --foo=1 x` declares x): they
  // are dropped, not rejected.
  const flags = ignoresFlags.has(keyword) ? [] : readFlags(keyword, split.flags, line, ctx.source, ctx.labs);
  const args: Word = { value: split.args, pos: line.posAt(split.argsStart) };
  const lastLine = ctx.source.lines[where.endLine - 1] ?? "";
  const base: InstructionBase = {
    keyword,
    keywordAsWritten: split.keyword,
    range: { start: pos, end: { line: where.endLine, column: lastLine.length + 1 } },
    pos,
    original: where.original,
    line: line.text,
    flags,
    args,
    heredocs: [],
    comments: where.comments,
  };
  const word = (w: OffsetWord): Word => ({ value: w.value, pos: line.posAt(w.start) });
  const flag = (name: string): Flag | undefined => flags.find((f) => f.name === name);
  const allFlags = (name: string): Flag[] => flags.filter((f) => f.name === name);
  const a = split.args;
  const aStart = split.argsStart;

  const command = (text: string, start: number): CommandForm => {
    const j = parseJsonArray(text);
    const at = line.posAt(start);
    if (j.json === "not-strings") {
      fail(
        "when using JSON array syntax, arrays must be comprised of strings only",
        at,
        'write ["executable", "arg"]',
      );
    }
    if (j.json === true) return { form: "exec", args: j.values, pos: at };
    return { form: "shell", text, pos: at };
  };
  // COPY, ADD and VOLUME: a JSON array, or words split on blanks.
  const list = (): { words: Word[]; json: boolean } => {
    const j = parseJsonArray(a);
    if (j.json === "not-strings") {
      fail("when using JSON array syntax, arrays must be comprised of strings only", args.pos);
    }
    if (j.json === true) return { words: j.values.map((v) => ({ value: v, pos: args.pos })), json: true };
    return { words: splitOnBlanks(a, aStart).map(word), json: false };
  };
  const exactlyOne = (): Word => {
    if (a === "") fail(`${keyword} requires exactly one argument`);
    return args;
  };

  switch (keyword) {
    case "FROM": {
      const words = splitOnBlanks(a, aStart).map(word);
      const usage = "write FROM [--platform=PLATFORM] IMAGE [AS NAME]";
      if (words.length !== 1 && !(words.length === 3 && words[1]!.value.toLowerCase() === "as")) {
        fail("FROM requires either one or three arguments", words.length > 1 ? words[1]!.pos : pos, usage);
      }
      const nameWord = words[2];
      let stageName: string | undefined;
      if (nameWord) {
        stageName = nameWord.value.toLowerCase();
        if (!/^[a-z][a-z0-9\-_.]*$/.test(stageName)) {
          fail(
            `invalid name for build stage: ${JSON.stringify(nameWord.value)}, name can't start with a number or contain symbols`,
            nameWord.pos,
            "stage names start with a letter and contain only letters, digits, '-', '_' and '.'",
          );
        }
      }
      return {
        ...base,
        keyword,
        image: words[0]!,
        platform: flag("platform"),
        asKeyword: words[1],
        stageNameWord: nameWord,
        stageName,
      };
    }
    case "RUN":
      return {
        ...base,
        keyword,
        command: command(a, aStart),
        mounts: allFlags("mount"),
        network: flag("network"),
        security: flag("security"),
      };
    case "CMD":
    case "ENTRYPOINT":
      return { ...base, keyword, command: command(a, aStart) };
    case "SHELL": {
      const c = command(a, aStart);
      if (c.form === "shell" && a !== "") {
        fail("SHELL requires the arguments to be in JSON form", args.pos, windowsPathHint(a));
      }
      if (c.form === "shell" || c.args.length === 0) fail("SHELL requires at least one argument");
      return { ...base, keyword, command: c as ExecForm };
    }
    case "COPY":
    case "ADD": {
      const { words, json } = list();
      if (words.length < 2) {
        fail(
          `${keyword} requires at least two arguments, but only one was provided. Destination could not be determined.`,
          words.length === 0 ? pos : args.pos,
          `write ${keyword} SOURCE... DEST`,
        );
      }
      const dest = words[words.length - 1]!;
      if (!json && parseHeredocWord(dest.value)) {
        fail(
          `${keyword} cannot accept a heredoc as a destination`,
          dest.pos,
          `write ${keyword} <<EOF /path/to/file`,
        );
      }
      const common = {
        sources: words.slice(0, -1),
        dest,
        jsonForm: json,
        chown: flag("chown"),
        chmod: flag("chmod"),
        link: flag("link"),
        excludes: allFlags("exclude"),
        parents: flag("parents"),
      };
      if (keyword === "COPY") return { ...base, ...common, keyword, from: flag("from") };
      return {
        ...base,
        ...common,
        keyword,
        checksum: flag("checksum"),
        keepGitDir: flag("keep-git-dir"),
        unpack: flag("unpack"),
      };
    }
    case "ARG": {
      const words = splitQuotedWords(a, aStart, ctx.escapeChar);
      if (words.length === 0) fail("ARG requires at least one argument", pos, "write ARG NAME[=DEFAULT]");
      const declarations: ArgDeclaration[] = words.map((w) => {
        const eq = w.value.indexOf("=");
        if (eq === 0) fail("ARG names can not be blank", line.posAt(w.start));
        return {
          name: eq < 0 ? w.value : w.value.slice(0, eq),
          defaultValue: eq < 0 ? undefined : w.value.slice(eq + 1),
          pos: line.posAt(w.start),
          valuePos: eq < 0 ? undefined : line.posAt(w.start + eq + 1),
        };
      });
      return { ...base, keyword, declarations };
    }
    case "ENV":
    case "LABEL": {
      const { pairs, legacy } = keyValues(keyword, a, aStart, line, ctx, fail);
      return { ...base, keyword, pairs, legacy };
    }
    case "EXPOSE": {
      const ports = splitOnBlanks(a, aStart).map(word);
      if (ports.length === 0)
        fail("EXPOSE requires at least one argument", pos, "write EXPOSE PORT[/PROTOCOL]...");
      return { ...base, keyword, ports };
    }
    case "VOLUME": {
      const { words, json } = list();
      if (words.length === 0) fail("VOLUME requires at least one argument");
      for (const w of words)
        if (w.value.trim() === "") fail("VOLUME specified can not be an empty string", w.pos);
      return { ...base, keyword, paths: words, jsonForm: json };
    }
    case "WORKDIR":
      return { ...base, keyword, path: exactlyOne() };
    case "USER":
      return { ...base, keyword, user: exactlyOne() };
    case "STOPSIGNAL":
      return { ...base, keyword, signal: exactlyOne() };
    case "MAINTAINER":
      return { ...base, keyword, name: exactlyOne() };
    case "HEALTHCHECK":
      return { ...base, ...healthcheck(a, aStart, line, flags, fail), keyword };
    case "ONBUILD": {
      if (a === "") fail("ONBUILD requires at least one argument");
      const inner = splitCommand(line.text, aStart, ctx.escapeChar);
      const innerKeyword = inner.keyword.toUpperCase();
      const at = line.posAt(inner.keywordStart);
      if (innerKeyword === "ONBUILD") {
        fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", at);
      }
      if (innerKeyword === "FROM" || innerKeyword === "MAINTAINER") {
        fail(`${innerKeyword} isn't allowed as an ONBUILD trigger`, at);
      }
      let trigger: Instruction | undefined;
      let triggerError: Error | undefined;
      try {
        trigger = buildInstruction(line, aStart, ctx, { ...where, comments: [] });
      } catch (e) {
        if (!(e instanceof DockerfileError)) throw e;
        triggerError = e;
      }
      return {
        ...base,
        keyword,
        trigger,
        ...(triggerError ? { triggerError } : {}),
        expression: line.text.replace(/^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*/i, ""),
      };
    }
  }
}

type Fail = (message: string, at?: Position, hint?: string) => never;

// ENV and LABEL: `key=value ...`, or the legacy `key value` (the value is the rest of the line).
function keyValues(
  keyword: "ENV" | "LABEL",
  a: string,
  aStart: number,
  line: LogicalLine,
  ctx: BuildContext,
  fail: Fail,
): { pairs: KeyValue[]; legacy: boolean } {
  const words = splitQuotedWords(a, aStart, ctx.escapeChar);
  const usage = `write ${keyword} KEY=VALUE ...`;
  if (words.length === 0) fail(`${keyword} requires at least one argument`, undefined, usage);
  if (!words[0]!.value.includes("=")) {
    const parts = splitOnceOnBlanks(a, aStart);
    if (parts.length < 2) fail(`${keyword} must have two arguments`, line.posAt(aStart), usage);
    const [k, v] = parts as [OffsetWord, OffsetWord];
    return {
      pairs: [{ key: k.value, value: v.value, pos: line.posAt(k.start), valuePos: line.posAt(v.start) }],
      legacy: true,
    };
  }
  const pairs = words.map((w) => {
    const eq = w.value.indexOf("=");
    if (eq < 0) {
      fail(
        `Syntax error - can't find = in ${JSON.stringify(w.value)}. Must be of the form: name=value`,
        line.posAt(w.start),
        'quote values that contain spaces, e.g. KEY="a b"',
      );
    }
    if (eq === 0) fail(`${keyword} names can not be blank`, line.posAt(w.start));
    return {
      key: w.value.slice(0, eq),
      value: w.value.slice(eq + 1),
      pos: line.posAt(w.start),
      valuePos: line.posAt(w.start + eq + 1),
    };
  });
  return { pairs, legacy: false };
}

function healthcheck(a: string, aStart: number, line: LogicalLine, flags: Flag[], fail: Fail) {
  if (a === "")
    fail(
      "HEALTHCHECK requires at least one argument",
      undefined,
      "write HEALTHCHECK CMD command, or HEALTHCHECK NONE",
    );
  let sep = 0;
  while (sep < a.length && !isGoSpace(a.charCodeAt(sep))) sep++;
  let next = sep;
  while (next < a.length && isGoSpace(a.charCodeAt(next))) next++;
  const type = a.slice(0, sep).toUpperCase();
  const rest = a.slice(next);
  const flag = (name: string) => flags.find((f) => f.name === name);
  if (type === "NONE") {
    if (rest !== "") fail("HEALTHCHECK NONE takes no arguments", line.posAt(aStart + next));
    return { type: "NONE" as const, command: undefined, ...noHealthcheckFlags };
  }
  if (type !== "CMD") {
    fail(`Unknown type ${JSON.stringify(a.slice(0, sep))} in HEALTHCHECK (try CMD)`, line.posAt(aStart));
  }
  const at = line.posAt(aStart + next);
  const j = parseJsonArray(rest);
  if (j.json === "not-strings")
    fail("when using JSON array syntax, arrays must be comprised of strings only", at);
  const command: CommandForm =
    j.json === true ? { form: "exec", args: j.values, pos: at } : { form: "shell", text: rest, pos: at };
  if ((command.form === "exec" && command.args.length === 0) || (command.form === "shell" && rest === "")) {
    fail("Missing command after HEALTHCHECK CMD", line.posAt(aStart));
  }
  const duration = (name: string): number => {
    const f = flag(name);
    if (f?.value === undefined || f.value === "") return 0;
    const ns = parseGoDuration(f.value);
    if (ns === undefined) {
      fail(
        `time: invalid duration ${JSON.stringify(f.value)} (--${name})`,
        f.valuePos ?? f.pos,
        "use a duration such as 30s, 1m30s or 500ms",
      );
    }
    if (ns !== 0 && ns < 1e6)
      fail(`Interval ${JSON.stringify(name)} cannot be less than 1ms`, f.valuePos ?? f.pos);
    return ns;
  };
  const timings: HealthcheckTimings = {
    intervalNs: duration("interval"),
    timeoutNs: duration("timeout"),
    startPeriodNs: duration("start-period"),
    startIntervalNs: duration("start-interval"),
    retries: 0,
  };
  const r = flag("retries");
  if (r?.value !== undefined && r.value !== "") {
    if (!/^[+-]?\d+$/.test(r.value) || Math.abs(Number(r.value)) > 2 ** 31 - 1) {
      fail(
        `invalid value for --retries: ${JSON.stringify(r.value)}`,
        r.valuePos ?? r.pos,
        "use a whole number, e.g. --retries=3",
      );
    }
    const n = Number(r.value);
    if (n < 0) fail(`--retries cannot be negative (${n})`, r.valuePos ?? r.pos);
    timings.retries = n;
  }
  return {
    type: "CMD" as const,
    command,
    interval: flag("interval"),
    timeout: flag("timeout"),
    startPeriod: flag("start-period"),
    startInterval: flag("start-interval"),
    retries: r,
    timings,
  };
}

// JSON needs `\\` for a backslash; a Windows path written with single backslashes falls back to the shell
// form without the user noticing, so say so.
function windowsPathHint(args: string): string {
  if (/"[a-zA-Z]:\\/.test(args) && !args.includes("\\\\") && args.includes("[") && args.includes("]")) {
    return 'JSON requires back-slashes to be escaped, e.g. ["c:\\\\path\\\\to\\\\file.exe", "/parameter"]';
  }
  return 'write SHELL ["executable", "parameters"]';
}
