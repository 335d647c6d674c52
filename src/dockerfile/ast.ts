/**
 * The typed syntax tree of a Dockerfile, as produced by `parseDockerfile` (src/dockerfile/parse/).
 *
 * The tree records what was written, not what it means: words the planner expands later (image names,
 * paths, flag values, ARG defaults, ENV values…) stay unexpanded strings, quotes included, each with the
 * position where it starts so that a later error can point at it. Stage semantics, ARG/ENV scoping and
 * expansion belong to the planner (src/dockerfile/plan/) and the shell lexer (src/dockerfile/shell/).
 *
 * Stability: other modules code against these types; changes are additive only.
 */

/** A 1-based line and column in the Dockerfile as the user sees it (columns count UTF-16 code units). */
export interface Position {
  line: number;
  column: number;
}

/** From `start` to `end`; `end` is the position just after the last character of the range. */
export interface SourceRange {
  start: Position;
  end: Position;
}

/** A piece of text as written (unexpanded, quotes kept) and where it starts. */
export interface Word {
  value: string;
  pos: Position;
}

/** The escape character in effect: `\` by default, or a backtick after `# escape=``. */
export type EscapeChar = "\\" | "`";

/** A parser directive (`# syntax=…`, `# escape=…`, `# check=…`) from the top of the file. */
export interface Directive {
  /** Lower-case name: "syntax", "escape" or "check". */
  name: string;
  /** The name with the user's casing. */
  nameAsWritten: string;
  /** Value with surrounding whitespace trimmed. */
  value: string;
  /** Position of the `#`. */
  pos: Position;
  /** Position of the value's first character. */
  valuePos: Position;
}

/** A comment line (`# text`) directly above an instruction, with the `#` and surrounding blanks removed. */
export interface Comment {
  text: string;
  line: number;
}

/**
 * A flag written before an instruction's arguments: `--name=value` or `--name` (then `value` is undefined).
 * The value has the flag's own quoting removed (as BuildKit does) but is otherwise unexpanded.
 */
export interface Flag {
  /** The name without leading dashes, as written (flags are case-sensitive). */
  name: string;
  value: string | undefined;
  /** Position of the first `-`. */
  pos: Position;
  /** Position of the value's first character (after `=`), when there is a value. */
  valuePos: Position | undefined;
  /** The flag as written, e.g. `--mount=type=cache,target=/root/.cache`. */
  raw: string;
}

/** A here-document (`<<EOF` … `EOF`) attached to RUN, COPY or ADD. */
export interface Heredoc {
  /** The delimiter word with quotes removed, e.g. `EOF`. */
  name: string;
  /**
   * The body exactly as in the file: every line followed by "\n", the terminator excluded. For `<<-` the
   * leading tabs are still there (`chomp` says to strip them; see `heredocBody` in parse/heredoc.ts),
   * because a RUN whose heredoc is not the first word hands the raw text to the shell.
   */
  content: string;
  /** False when the delimiter was quoted (`<<"EOF"`, `<<'EOF'`, `<<E"O"F`): no variable expansion. */
  expand: boolean;
  /** True for `<<-EOF`: leading tabs are stripped from the body and the terminator. */
  chomp: boolean;
  /** The file descriptor written before `<<` (e.g. `3<<EOF`), if any. */
  fileDescriptor: number | undefined;
  /** Position of the heredoc word (the first digit or `<`) in the instruction line. */
  pos: Position;
  /** The first line of the body (the line after the instruction, or after the previous heredoc). */
  bodyStartLine: number;
  /** The line holding the terminator. */
  endLine: number;
}

/** Exec form (`["a", "b"]`, a JSON array of strings) or shell form (the rest of the line). */
export type CommandForm = ExecForm | ShellForm;

export interface ExecForm {
  form: "exec";
  /** The JSON array's strings (JSON escapes decoded; never shell-expanded by Docker). */
  args: string[];
  pos: Position;
}

export interface ShellForm {
  form: "shell";
  /** The command text, unexpanded, after joining continuation lines. */
  text: string;
  pos: Position;
}

/** Every instruction keyword the reference defines, upper case. */
export type Keyword =
  | "ADD"
  | "ARG"
  | "CMD"
  | "COPY"
  | "ENTRYPOINT"
  | "ENV"
  | "EXPOSE"
  | "FROM"
  | "HEALTHCHECK"
  | "LABEL"
  | "MAINTAINER"
  | "ONBUILD"
  | "RUN"
  | "SHELL"
  | "STOPSIGNAL"
  | "USER"
  | "VOLUME"
  | "WORKDIR";

/** What every instruction has, whatever its keyword. */
export interface InstructionBase {
  keyword: Keyword;
  /** The keyword with the user's casing (e.g. `run`). */
  keywordAsWritten: string;
  /** From the keyword's first character to the end of the last line (heredoc terminators included). */
  range: SourceRange;
  /** Position of the keyword (same as `range.start`). */
  pos: Position;
  /** The source lines exactly as written, continuation and comment lines included, joined with "\n". */
  original: string;
  /**
   * The logical line: continuation lines joined, comment lines inside the continuation dropped, leading
   * blanks removed (BuildKit's `Original`). Heredoc bodies are not part of it.
   */
  line: string;
  /** Flags in the order written (a repeated flag such as `--mount` appears once per use). */
  flags: Flag[];
  /** Everything after the keyword and flags, unexpanded, and where it starts. */
  args: Word;
  /** Here-documents, in the order of their `<<` words (only RUN, COPY and ADD in shell form have them). */
  heredocs: Heredoc[];
  /**
   * Comment lines above the instruction, in file order, as BuildKit collects them (its `PrevComment`): every
   * comment line since the previous instruction, blank lines in between allowed; an empty `#` line clears
   * the list; parser directives and comments inside a continuation are not included.
   */
  comments: Comment[];
}

export interface FromInstruction extends InstructionBase {
  keyword: "FROM";
  /** The image reference or stage name, unexpanded (may contain `$ARG`s declared before the first FROM). */
  image: Word;
  /** The `--platform` flag, if given (also present in `flags`). */
  platform: Flag | undefined;
  /** The `AS` keyword as written, for casing checks. */
  asKeyword: Word | undefined;
  /** The stage name as written (BuildKit lower-cases it: see `stageName`). */
  stageNameWord: Word | undefined;
  /** The stage name, lower case, validated against `^[a-z][a-z0-9-_.]*$`. */
  stageName: string | undefined;
}

export interface RunInstruction extends InstructionBase {
  keyword: "RUN";
  command: CommandForm;
  /** Raw values of each `--mount` flag, in order; the planner parses `type=…,target=…`. */
  mounts: Flag[];
  network: Flag | undefined;
  security: Flag | undefined;
}

/** Options shared by COPY and ADD. */
export interface CopyLikeInstruction extends InstructionBase {
  /** Sources as written (whitespace-split words, or JSON strings). A heredoc source is the `<<EOF` word. */
  sources: Word[];
  dest: Word;
  /** True when the arguments were a JSON array. */
  jsonForm: boolean;
  chown: Flag | undefined;
  chmod: Flag | undefined;
  link: Flag | undefined;
  /** Each `--exclude` flag in order. */
  excludes: Flag[];
  parents: Flag | undefined;
}

export interface CopyInstruction extends CopyLikeInstruction {
  keyword: "COPY";
  from: Flag | undefined;
}

export interface AddInstruction extends CopyLikeInstruction {
  keyword: "ADD";
  checksum: Flag | undefined;
  keepGitDir: Flag | undefined;
  unpack: Flag | undefined;
}

/** One `name` or `name=default` of an ARG. */
export interface ArgDeclaration {
  name: string;
  /** The default as written (quotes kept, unexpanded), or undefined when there is no `=`. */
  defaultValue: string | undefined;
  pos: Position;
  /** Position of the default's first character. */
  valuePos: Position | undefined;
}

export interface ArgInstruction extends InstructionBase {
  keyword: "ARG";
  declarations: ArgDeclaration[];
}

/** One key/value pair of ENV or LABEL, both unexpanded (quotes kept). */
export interface KeyValue {
  key: string;
  value: string;
  pos: Position;
  valuePos: Position;
}

export interface EnvInstruction extends InstructionBase {
  keyword: "ENV";
  pairs: KeyValue[];
  /** True for the legacy `ENV key value` form (one pair, the value is the rest of the line). */
  legacy: boolean;
}

export interface LabelInstruction extends InstructionBase {
  keyword: "LABEL";
  pairs: KeyValue[];
  /** True for the legacy `LABEL key value` form. */
  legacy: boolean;
}

export interface CmdInstruction extends InstructionBase {
  keyword: "CMD";
  command: CommandForm;
}

export interface EntrypointInstruction extends InstructionBase {
  keyword: "ENTRYPOINT";
  command: CommandForm;
}

export interface ShellInstruction extends InstructionBase {
  keyword: "SHELL";
  /** SHELL only accepts the exec form. */
  command: ExecForm;
}

export interface WorkdirInstruction extends InstructionBase {
  keyword: "WORKDIR";
  path: Word;
}

export interface UserInstruction extends InstructionBase {
  keyword: "USER";
  /** `user`, `user:group`, `uid:gid`… as written. */
  user: Word;
}

export interface ExposeInstruction extends InstructionBase {
  keyword: "EXPOSE";
  /** Whitespace-separated words such as `80`, `53/udp`, `$PORT`, unexpanded. */
  ports: Word[];
}

export interface VolumeInstruction extends InstructionBase {
  keyword: "VOLUME";
  paths: Word[];
  jsonForm: boolean;
}

export interface StopsignalInstruction extends InstructionBase {
  keyword: "STOPSIGNAL";
  signal: Word;
}

export interface HealthcheckInstruction extends InstructionBase {
  keyword: "HEALTHCHECK";
  /** `NONE` disables an inherited check; `CMD` sets one. */
  type: "NONE" | "CMD";
  /** The command, when `type` is CMD. */
  command: CommandForm | undefined;
  interval: Flag | undefined;
  timeout: Flag | undefined;
  startPeriod: Flag | undefined;
  startInterval: Flag | undefined;
  retries: Flag | undefined;
  /** The flags' values parsed (durations in nanoseconds, 0 when not given, as Docker's HealthConfig). */
  timings: HealthcheckTimings | undefined;
}

export interface HealthcheckTimings {
  intervalNs: number;
  timeoutNs: number;
  startPeriodNs: number;
  startIntervalNs: number;
  retries: number;
}

export interface OnbuildInstruction extends InstructionBase {
  keyword: "ONBUILD";
  /**
   * The trigger, parsed (never ONBUILD, FROM or MAINTAINER); undefined when it does not parse. BuildKit
   * stores a trigger unparsed and parses it only when a build uses it, so a trigger with an unknown
   * instruction or flag fails only then: `triggerError` is that failure, raised by whoever runs the trigger.
   */
  trigger: Instruction | undefined;
  triggerError?: Error;
  /**
   * The trigger's text as BuildKit stores it in the image config (`OnBuild`): the line after `ONBUILD`,
   * followed by each heredoc's body and terminator.
   */
  expression: string;
}

export interface MaintainerInstruction extends InstructionBase {
  keyword: "MAINTAINER";
  /** Deprecated by the reference; kept because BuildKit still honours it (sets the `author` field). */
  name: Word;
}

export type Instruction =
  | AddInstruction
  | ArgInstruction
  | CmdInstruction
  | CopyInstruction
  | EntrypointInstruction
  | EnvInstruction
  | ExposeInstruction
  | FromInstruction
  | HealthcheckInstruction
  | LabelInstruction
  | MaintainerInstruction
  | OnbuildInstruction
  | RunInstruction
  | ShellInstruction
  | StopsignalInstruction
  | UserInstruction
  | VolumeInstruction
  | WorkdirInstruction;

/** Something the parser accepted but a linter may want to report. */
export interface ParseWarning {
  /** "empty-continuation-line": an empty line inside a continuation (BuildKit: NoEmptyContinuation). */
  code: "empty-continuation-line";
  message: string;
  pos: Position;
}

export interface DockerfileAst {
  /** The file name used in error locations (e.g. "Dockerfile"). */
  file: string;
  /** Source lines after removing a UTF-8 BOM and line terminators (CRLF or LF); index 0 is line 1. */
  lines: readonly string[];
  directives: Directive[];
  /** The escape character in effect for the whole file. */
  escapeChar: EscapeChar;
  /** The `# syntax=` value, if any. */
  syntax: string | undefined;
  /** The `# check=` value, if any (e.g. `skip=JSONArgsRecommended;error=true`). */
  check: string | undefined;
  instructions: Instruction[];
  warnings: ParseWarning[];
}

/** Options of `parseDockerfile`. */
export interface ParseOptions {
  /** File name for error locations; defaults to "Dockerfile". */
  file?: string;
  /**
   * The `BUILDKIT_SYNTAX` build arg: names the frontend in place of the file's `# syntax=` line, as
   * BuildKit reads it (same rules: the official docker/dockerfile names only).
   */
  syntax?: string;
}
