import { UserError } from "../../errors/user-error.ts";
import { hostPlatform, type Platform } from "../../oci/platform.ts";
import type {
  ArgInstruction,
  Comment,
  DockerfileAst,
  FromInstruction,
  Instruction,
  Position,
  RunInstruction,
} from "../ast.ts";
import { didYouMean } from "../errors.ts";
import { expandWithMatches } from "../shell/index.ts";
import { platformArgs } from "./platform-args.ts";
import { mountSource, parseMountFlag } from "./run-mounts.ts";

/**
 * A light reading of a Dockerfile's stages for `--call outline|targets|check`: which stage is built on which,
 * which stages a stage reads from, and the global ARGs. It needs no registry and no graph; the planner
 * (src/dockerfile/plan/) is the authority for what is actually built.
 */
export interface StageGraph {
  ast: DockerfileAst;
  /** Global ARGs (before the first FROM), by name; a later declaration replaces an earlier one. */
  metaArgs: Map<string, MetaArg>;
  /** What FROM lines see: the automatic platform args, then the global ARGs' values. */
  metaEnv: Map<string, string>;
  stages: StageNode[];
}

export interface MetaArg {
  name: string;
  /** After `--build-arg` and expansion; undefined when declared without a default and not given. */
  value: string | undefined;
  /** Variables its default refers to (using the arg uses them too). */
  deps: string[];
  instruction: ArgInstruction;
  pos: Position;
  description: string;
}

export interface StageNode {
  index: number;
  /** The `AS` name, lower case. */
  name: string | undefined;
  from: FromInstruction;
  /** The instructions after this FROM, up to the next one. */
  body: Instruction[];
  /** The FROM argument expanded with the global args. */
  baseName: string;
  baseMatched: Set<string>;
  baseUnmatched: Set<string>;
  /** The `--platform` value expanded with the global args, when given. */
  platform: { value: string; matched: Set<string>; unmatched: Set<string> } | undefined;
  /** An earlier stage this one is built on (`FROM stagename`). */
  baseStage: number | undefined;
  /** Other stages it reads from: `COPY --from`, `RUN --mount=from=`, and its base's ONBUILD triggers. */
  deps: number[];
  /** BuildKit's stage description: the comment above FROM that starts with the stage name. */
  description: string;
}

export interface StageGraphOptions {
  buildArgs?: Readonly<Record<string, string>>;
  /** The target platform the automatic args describe (the first `--platform`); defaults to this machine's. */
  platform?: Platform;
  buildPlatform?: Platform;
  /** The `--target` (TARGETSTAGE's value); defaults to the last stage's name. */
  target?: string;
}

export function buildStageGraph(ast: DockerfileAst, options: StageGraphOptions = {}): StageGraph {
  const buildArgs = options.buildArgs ?? {};
  const metaEnv = platformArgs(options.platform ?? hostPlatform(), options.buildPlatform ?? hostPlatform());
  metaEnv.set("TARGETSTAGE", options.target ?? lastStageName(ast) ?? "");
  // A --build-arg may override the automatic values (BuildKit allows it, e.g. for TARGETPLATFORM).
  for (const key of metaEnv.keys()) if (Object.hasOwn(buildArgs, key)) metaEnv.set(key, buildArgs[key]!);
  const metaArgs = new Map<string, MetaArg>();
  let i = 0;
  const instructions = ast.instructions;
  for (; i < instructions.length && instructions[i]!.keyword !== "FROM"; i++) {
    const ins = instructions[i]!;
    if (ins.keyword !== "ARG") continue;
    for (const decl of ins.declarations) {
      let value: string | undefined;
      let deps: string[] = [];
      if (Object.hasOwn(buildArgs, decl.name)) value = buildArgs[decl.name];
      else if (decl.defaultValue !== undefined) {
        const r = expand(ast, decl.defaultValue, metaEnv, decl.valuePos ?? decl.pos);
        value = r.value;
        deps = [...r.matched];
      }
      if (value !== undefined) metaEnv.set(decl.name, value);
      metaArgs.set(decl.name, {
        name: decl.name,
        value,
        deps,
        instruction: ins,
        pos: decl.pos,
        description: descriptionFor(ins.comments, decl.name),
      });
    }
  }
  if (i === instructions.length) {
    const at = instructions[0]?.pos ?? { line: 1, column: 1 };
    throw new UserError("the Dockerfile has no FROM instruction", {
      hint: "a Dockerfile needs at least one FROM to start a stage",
      location: { file: ast.file, line: at.line, column: at.column, source: ast.lines[at.line - 1] ?? "" },
    });
  }

  const stages: StageNode[] = [];
  for (; i < instructions.length; i++) {
    const ins = instructions[i]!;
    if (ins.keyword === "FROM") {
      const base = expand(ast, ins.image.value, metaEnv, ins.image.pos);
      const platform = ins.platform?.value
        ? expand(ast, ins.platform.value, metaEnv, ins.platform.valuePos ?? ins.platform.pos)
        : undefined;
      const baseLower = base.value.toLowerCase();
      // The latest earlier stage of that name: a duplicate name is only a warning in BuildKit.
      const baseStage = stages.findLast((s) => s.name !== undefined && s.name === baseLower)?.index;
      stages.push({
        index: stages.length,
        name: ins.stageName,
        from: ins,
        body: [],
        baseName: base.value,
        baseMatched: base.matched,
        baseUnmatched: base.unmatched,
        platform: platform && {
          value: platform.value,
          matched: platform.matched,
          unmatched: platform.unmatched,
        },
        baseStage,
        deps: [],
        description: ins.stageNameWord
          ? descriptionFor(ins.comments, ins.stageNameWord.value, ins.stageName)
          : "",
      });
    } else stages[stages.length - 1]!.body.push(ins);
  }

  for (const stage of stages) {
    const deps = new Set<number>();
    const refs = referencesOf(stage.body);
    if (stage.baseStage !== undefined) {
      // A base stage's ONBUILD triggers run in this stage and may read from other stages.
      const triggers = stages[stage.baseStage]!.body.flatMap((b) =>
        b.keyword === "ONBUILD" && b.trigger ? [b.trigger] : [],
      );
      refs.push(...referencesOf(triggers));
    }
    for (const ref of refs) {
      const expanded = safeExpand(ref, metaEnv);
      const found = findStage(stages, expanded);
      if (found !== undefined && found !== stage.index) deps.add(found);
    }
    stage.deps = [...deps].sort((a, b) => a - b);
  }
  return { ast, metaArgs, metaEnv, stages };
}

/** The stage `--target` names (case-insensitive), or the last stage. */
export function targetStage(graph: StageGraph, target: string | undefined): StageNode {
  if (target === undefined || target === "") return graph.stages[graph.stages.length - 1]!;
  const wanted = target.toLowerCase();
  const found = graph.stages.findLast((s) => s.name === wanted);
  if (found) return found;
  const names = graph.stages.flatMap((s) => (s.name ? [s.name] : []));
  const suggestion = didYouMean(wanted, names);
  throw new UserError(`target stage ${JSON.stringify(target)} could not be found`, {
    hint:
      names.length === 0
        ? "this Dockerfile has no named stages; name one with `FROM image AS name`"
        : `${suggestion ? `${suggestion} ` : ""}stages: ${names.join(", ")}`,
  });
}

/** The stages a target needs (itself, its bases, and what they read from), in Dockerfile order. */
export function reachableStages(graph: StageGraph, target: number): number[] {
  const seen = new Set<number>();
  const visit = (i: number): void => {
    if (seen.has(i)) return;
    seen.add(i);
    const s = graph.stages[i]!;
    if (s.baseStage !== undefined) visit(s.baseStage);
    for (const d of s.deps) visit(d);
  };
  visit(target);
  return [...seen].sort((a, b) => a - b);
}

/** A stage named by `--from`/`from=`: a number is an index, anything else a stage name (case-insensitive). */
export function findStage(stages: readonly StageNode[], ref: string): number | undefined {
  if (/^\d+$/.test(ref)) {
    const n = Number(ref);
    return n < stages.length ? n : undefined;
  }
  const lower = ref.toLowerCase();
  return stages.findLast((s) => s.name !== undefined && s.name === lower)?.index;
}

/**
 * BuildKit's description rule: among the comment lines directly above, the first that starts with the
 * name and a space; the rest of that line is the description.
 */
export function descriptionFor(comments: readonly Comment[], ...names: (string | undefined)[]): string {
  for (const c of comments) {
    for (const name of names) {
      if (name && c.text.startsWith(`${name} `)) return c.text.slice(name.length + 1).trim();
    }
  }
  return "";
}

function lastStageName(ast: DockerfileAst): string | undefined {
  for (let i = ast.instructions.length - 1; i >= 0; i--) {
    const ins = ast.instructions[i]!;
    if (ins.keyword === "FROM") return ins.stageName;
  }
  return undefined;
}

function referencesOf(instructions: readonly Instruction[]): string[] {
  const out: string[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "COPY" && ins.from?.value) out.push(ins.from.value);
    if (ins.keyword === "RUN") out.push(...runMountSources(ins));
  }
  return out;
}

function runMountSources(run: RunInstruction): string[] {
  return run.mounts.flatMap((flag) => {
    const from = mountSource(parseMountFlag(flag));
    return from ? [from] : [];
  });
}

function expand(ast: DockerfileAst, text: string, env: Map<string, string>, pos: Position) {
  return expandWithMatches(text, env, { escapeChar: ast.escapeChar, at: { source: ast, pos } });
}

function safeExpand(text: string, env: Map<string, string>): string {
  try {
    return expandWithMatches(text, env).value;
  } catch {
    return text;
  }
}
