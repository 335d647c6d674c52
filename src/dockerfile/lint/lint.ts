import { isUserError } from "../../errors/user-error.ts";
import { parsePlatform } from "../../oci/platform.ts";
import type {
  AddInstruction,
  CopyInstruction,
  DockerfileAst,
  Instruction,
  Position,
  SourceRange,
} from "../ast.ts";
import { closestMatch } from "../errors.ts";
import {
  buildStageGraph,
  reachableStages,
  type StageGraph,
  type StageGraphOptions,
  targetStage,
} from "../outline/stage-graph.ts";
import { walkStages } from "../outline/stage-walk.ts";
import { parseImageRef } from "../plan/image-ref.ts";
import { isKnownProto, splitPortSpec } from "../plan/ports.ts";
import { type CheckOptions, parseCheckOptions } from "./check-options.ts";
import { experimentalRules, type RuleName, rules } from "./rules.ts";

/** One check that failed: which rule, what exactly, and where (a range of whole lines). */
export interface LintFinding {
  rule: RuleName;
  description: string;
  url: string;
  detail: string;
  range: SourceRange;
}

export interface LintReport {
  file: string;
  lines: readonly string[];
  findings: LintFinding[];
  /** The `# check=` options in effect. */
  options: CheckOptions;
  /** Set when `error=true` and there are findings: the build would fail with this message. */
  violation: string | undefined;
  /** Set when the Dockerfile could not be checked to the end (BuildKit reports such an error with the warnings). */
  buildError: { message: string; pos: Position | undefined } | undefined;
}

export interface LintOptions extends StageGraphOptions {
  /** Check only what this target needs; without it every stage is checked (as `docker build --check` does). */
  target?: string;
  /**
   * The main context's `.dockerignore` (true when a context-relative path, or a parent of it, is excluded);
   * absent for a remote context, whose ignore file is not applied.
   */
  contextIgnores?: (relPath: string) => boolean;
}

// Variables BuildKit reads itself and never puts in the environment, so their use is never "undefined".
const nonEnvArgs = new Set(["BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"]);
const reservedStageNames = new Set(["context", "scratch"]);
const secretWords =
  /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
const secretAllowWords = /(?:_|^)(?:public)(?:_|$)/i;

/**
 * Runs BuildKit's build checks on a parsed Dockerfile, without a registry. Where BuildKit would read a base
 * image's config, polyarch does not: a stage built on a registry image has an unknown ENV, so UndefinedVar
 * only reports a variable there when it looks like a typo of a known one (BuildKit reports all of them).
 */
export function lintDockerfile(ast: DockerfileAst, options: LintOptions = {}): LintReport {
  const buildArgs = options.buildArgs ?? {};
  const override = buildArgs.BUILDKIT_DOCKERFILE_CHECK;
  const checkOptions =
    override !== undefined
      ? parseCheckOptions(override, "--build-arg BUILDKIT_DOCKERFILE_CHECK")
      : parseCheckOptions(ast.check);
  const findings: LintFinding[] = [];
  const report = (name: RuleName, detail: string, range: SourceRange): void => {
    if (checkOptions.skipAll || checkOptions.skip.has(name)) return;
    if (experimentalRules.has(name) && !checkOptions.experimentalAll && !checkOptions.experimental.has(name))
      return;
    const r = rules[name];
    findings.push({ rule: name, description: r.description, url: r.url, detail, range });
  };
  const lineRange = (pos: Position): SourceRange => ({ start: pos, end: pos });

  let buildError: LintReport["buildError"];
  try {
    checkSyntax(ast, report, lineRange);
    checkDescriptions(ast, report, lineRange);
    const graph = buildStageGraph(ast, options);
    checkStageNames(graph, report);
    checkFromLines(graph, options, report);
    const stages =
      options.target === undefined || options.target === ""
        ? graph.stages.map((s) => s.index)
        : reachableStages(graph, targetStage(graph, options.target).index);
    checkInstructions(graph, stages, buildArgs, report, options.contextIgnores);
  } catch (e) {
    if (!isUserError(e)) throw e;
    const loc = e.location;
    buildError = { message: e.message, pos: loc ? { line: loc.line, column: loc.column } : undefined };
  }

  const ordered = findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => a.f.range.start.line - b.f.range.start.line || a.i - b.i)
    .map((x) => x.f);
  const violated = [...new Set(ordered.map((f) => f.rule))].sort();
  return {
    file: ast.file,
    lines: ast.lines,
    findings: ordered,
    options: checkOptions,
    violation:
      checkOptions.error && violated.length > 0
        ? `lint violation found for rules: ${violated.join(", ")}`
        : undefined,
    buildError,
  };
}

type Report = (name: RuleName, detail: string, range: SourceRange) => void;

// A comment right above a named FROM or an ARG is its description (`--call outline|targets`) when its last
// line starts with the name; BuildKit's experimental InvalidDefinitionDescription flags one that does not.
function checkDescriptions(
  ast: DockerfileAst,
  report: Report,
  lineRange: (p: Position) => SourceRange,
): void {
  for (const ins of ast.instructions) {
    const keys =
      ins.keyword === "FROM"
        ? ins.stageName === undefined
          ? []
          : [ins.stageName]
        : ins.keyword === "ARG"
          ? ins.declarations.map((d) => d.name)
          : [];
    const last = ins.comments.at(-1);
    if (keys.length === 0 || last === undefined) continue;
    if (keys.includes(last.text.split(" ")[0]!)) continue;
    const example = keys.length > 1 ? "<arg_key>" : keys[0];
    report(
      "InvalidDefinitionDescription",
      `Comment for ${ins.keyword} should follow the format: \`# ${example} <description>\``,
      lineRange(ins.pos),
    );
  }
}

// Checks BuildKit runs while reading instructions: they apply to the whole file, whatever the target.
function checkSyntax(ast: DockerfileAst, report: Report, lineRange: (p: Position) => SourceRange): void {
  for (const w of ast.warnings) {
    if (w.code === "empty-continuation-line")
      report("NoEmptyContinuation", "Empty continuation line", lineRange(w.pos));
  }
  const firstFrom = ast.instructions.findIndex((i) => i.keyword === "FROM");
  const inStages = firstFrom < 0 ? [] : ast.instructions.slice(firstFrom);
  let lower = 0;
  let upper = 0;
  for (const ins of inStages) {
    const k = ins.keywordAsWritten;
    if (k === k.toLowerCase()) lower++;
    else if (k === k.toUpperCase()) upper++;
  }
  const majorityLower = lower > upper;
  for (const ins of inStages) {
    const k = ins.keywordAsWritten;
    const want = majorityLower ? k.toLowerCase() : k.toUpperCase();
    if (k !== want) {
      report(
        "ConsistentInstructionCasing",
        `Command '${k}' should match the case of the command majority (${majorityLower ? "lowercase" : "uppercase"})`,
        ins.range,
      );
    }
  }
  for (const ins of ast.instructions) {
    if (ins.keyword === "MAINTAINER") {
      report(
        "MaintainerDeprecated",
        "Maintainer instruction is deprecated in favor of using label",
        ins.range,
      );
    }
    if (ins.keyword !== "FROM") continue;
    const written = ins.stageNameWord?.value;
    if (written !== undefined && written !== written.toLowerCase()) {
      report("StageNameCasing", `Stage name '${written}' should be lowercase`, ins.range);
    }
    const as = ins.asKeyword?.value;
    const from = ins.keywordAsWritten;
    if (as !== undefined && (from === "from" || from === "FROM")) {
      const matches = from === "from" ? as === as.toLowerCase() : as === as.toUpperCase();
      if (!matches) report("FromAsCasing", `'${as}' and '${from}' keywords' casing do not match`, ins.range);
    }
  }
}

function checkStageNames(graph: StageGraph, report: Report): void {
  const seen = new Set<string>();
  for (const s of graph.stages) {
    if (s.name === undefined) continue;
    if (reservedStageNames.has(s.name)) {
      report(
        "ReservedStageName",
        `Stage name should not use the same name as reserved stage "${s.name}"`,
        s.from.range,
      );
    }
    if (seen.has(s.name)) {
      report(
        "DuplicateStageName",
        `Duplicate stage name "${s.name}", stage names should be unique`,
        s.from.range,
      );
    }
    seen.add(s.name);
  }
}

function checkFromLines(graph: StageGraph, options: LintOptions, report: Report): void {
  const declared = [...new Set([...graph.metaEnv.keys(), ...graph.metaArgs.keys()])];
  const undeclared = (names: ReadonlySet<string>, range: SourceRange): void => {
    for (const name of names) {
      if (declared.includes(name)) continue;
      const suggestion = closestMatch(name, declared);
      report(
        "UndefinedArgInFrom",
        `FROM argument '${name}' is not declared${suggestion ? ` (did you mean ${suggestion}?)` : ""}`,
        range,
      );
    }
  };
  // InvalidDefaultArgInFrom looks at the FROM lines as the defaults alone would make them; when those do
  // not even expand, BuildKit gives up on this check (the build itself reports the problem).
  let defaultsOnly: StageGraph | undefined;
  try {
    defaultsOnly = buildStageGraph(graph.ast, { ...options, buildArgs: {} });
  } catch {
    defaultsOnly = undefined;
  }
  for (const s of graph.stages) {
    const range = s.from.range;
    undeclared(s.baseUnmatched, range);
    const defaultBase = defaultsOnly?.stages[s.index]?.baseName;
    const usesArgs = s.baseMatched.size + s.baseUnmatched.size > 0;
    if (usesArgs && defaultBase !== undefined && !parseImageRef(defaultBase).ok) {
      report(
        "InvalidDefaultArgInFrom",
        `Default value for ARG ${s.from.image.value} results in empty or invalid base image name`,
        range,
      );
    }
    const p = s.platform;
    if (!p) continue;
    undeclared(p.unmatched, range);
    if (p.matched.size === 1 && p.unmatched.size === 0 && p.matched.has("TARGETPLATFORM")) {
      if (p.value === graph.metaEnv.get("TARGETPLATFORM")) {
        report(
          "RedundantTargetPlatform",
          `Setting platform to predefined ${s.from.platform?.value} in FROM is redundant as this is the default behavior`,
          range,
        );
      }
    }
    if (p.matched.size === 0 && p.unmatched.size === 0) {
      let platform: { os: string; architecture: string } | undefined;
      try {
        platform = parsePlatform(p.value);
      } catch {
        platform = undefined;
      }
      const name = s.name ?? "";
      if (platform && !name.includes(platform.os) && !name.includes(platform.architecture)) {
        report(
          "FromPlatformFlagConstDisallowed",
          `FROM --platform flag should not use constant value "${p.value}"`,
          range,
        );
      }
    }
  }
}

function checkInstructions(
  graph: StageGraph,
  stages: readonly number[],
  buildArgs: Readonly<Record<string, string>>,
  report: Report,
  contextIgnores: ((relPath: string) => boolean) | undefined,
): void {
  // BuildKit tracks CMD, ENTRYPOINT and HEALTHCHECK per stage and reports the one that gets overridden.
  const lastUse = new Map<string, Instruction>();
  let currentStage = -1;
  const reportedUndefined = new Set<string>();
  walkStages(graph, stages, buildArgs, {
    before(stage, ins, state) {
      if (stage.index !== currentStage) {
        currentStage = stage.index;
        lastUse.clear();
      }
      switch (ins.keyword) {
        case "CMD":
        case "ENTRYPOINT":
        case "HEALTHCHECK": {
          const previous = lastUse.get(ins.keyword);
          if (previous) {
            report(
              "MultipleInstructionsDisallowed",
              `Multiple ${ins.keyword} instructions should not be used in the same stage because only the last one will be used`,
              previous.range,
            );
          }
          lastUse.set(ins.keyword, ins);
          if (ins.keyword !== "HEALTHCHECK" && ins.command.form === "shell" && !state.shellSet) {
            // BuildKit names the instruction as written (`cmd`), as the differential rawjson test sees.
            report(
              "JSONArgsRecommended",
              `JSON arguments recommended for ${ins.keywordAsWritten} to prevent unintended behavior related to OS signals`,
              ins.range,
            );
          }
          break;
        }
        case "ENV":
        case "LABEL":
          if (ins.legacy) {
            report(
              "LegacyKeyValueFormat",
              `"${ins.keyword} key=value" should be used instead of legacy "${ins.keyword} key value" format`,
              ins.range,
            );
          }
          if (ins.keyword === "ENV") for (const p of ins.pairs) secretName("ENV", p.key, ins, report);
          break;
        case "ARG":
          for (const d of ins.declarations) secretName("ARG", d.name, ins, report);
          break;
      }
    },
    expanded(_stage, ins, word, result, state) {
      if (ins.keyword === "EXPOSE") checkExpose(result.value, ins, report);
      if (contextIgnores && (ins.keyword === "COPY" || ins.keyword === "ADD") && ins.sources.includes(word))
        checkIgnoredSource(ins, result.value, contextIgnores, report);
      if (
        ins.keyword === "WORKDIR" &&
        word === ins.path &&
        !state.workdirSet &&
        !isAbsolutePath(result.value)
      ) {
        report(
          "WorkdirRelativePath",
          `Relative workdir ${JSON.stringify(result.value)} can have unexpected results if the base image changes`,
          ins.range,
        );
      }
      for (const name of result.unmatched) {
        if (state.declaredArgs.has(name) || nonEnvArgs.has(name)) continue;
        const key = `${ins.range.start.line}:${ins.range.start.column}:${name}`;
        if (reportedUndefined.has(key)) continue;
        // A registry base image may set the variable; without its config, only a likely typo of a name the
        // Dockerfile itself defines is reported.
        const known = state.envComplete
          ? [...state.env.keys(), ...state.declaredArgs]
          : [...state.envSet, ...state.declaredArgs];
        const suggestion = closestMatch(name, known);
        if (!state.envComplete && suggestion === undefined) continue;
        reportedUndefined.add(key);
        report(
          "UndefinedVar",
          `Usage of undefined variable '$${name}'${suggestion ? ` (did you mean $${suggestion}?)` : ""}`,
          ins.range,
        );
      }
    },
  });
}

// A COPY or ADD from the main context of a path its .dockerignore excludes copies nothing (or fails). The
// path is matched as written, as BuildKit matches it: `./x` or `/x` is not compared with a pattern `x`.
function checkIgnoredSource(
  ins: CopyInstruction | AddInstruction,
  source: string,
  ignores: (relPath: string) => boolean,
  report: Report,
): void {
  if (ins.keyword === "COPY" && ins.from !== undefined) return;
  if (ins.keyword === "ADD" && (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^git@/.test(source))) return;
  let excluded = false;
  try {
    excluded = ignores(source);
  } catch {
    excluded = false;
  }
  if (excluded) {
    const verb = ins.keyword === "ADD" ? "Add" : "Copy";
    report(
      "CopyIgnoredFile",
      `Attempting to ${verb} file ${JSON.stringify(source)} that is excluded by .dockerignore`,
      ins.range,
    );
  }
}

// EXPOSE only names the container's ports: a host address or port is ignored (and will become an error), and
// the protocol is case-folded. A word whose port or protocol is invalid is left to the build's error.
function checkExpose(expanded: string, ins: Instruction, report: Report): void {
  for (const raw of expanded.split(/\s+/).filter((w) => w !== "")) {
    const parts = splitPortSpec(raw);
    if (parts.port === "" || !isKnownProto(parts.proto)) continue;
    if (parts.proto !== parts.proto.toLowerCase())
      report(
        "ExposeProtoCasing",
        `Defined protocol '${raw}' in EXPOSE instruction should be lowercase`,
        ins.range,
      );
    if (parts.ip !== "" || parts.hostPort !== "")
      report(
        "ExposeInvalidFormat",
        `EXPOSE instruction should not define an IP address or host-port mapping, found '${raw}'`,
        ins.range,
      );
  }
}

function secretName(instruction: "ARG" | "ENV", key: string, ins: Instruction, report: Report): void {
  if (secretWords.test(key) && !secretAllowWords.test(key)) {
    report(
      "SecretsUsedInArgOrEnv",
      `Do not use ARG or ENV instructions for sensitive data (${instruction} ${JSON.stringify(key)})`,
      ins.range,
    );
  }
}

// Linux paths start with `/`; Windows ones (`C:\x`, `\x`) count too, as a Windows stage would see them.
function isAbsolutePath(p: string): boolean {
  return p.startsWith("/") || p.startsWith("\\") || /^[A-Za-z]:[\\/]/.test(p);
}
