import type { ArgDeclaration, ArgInstruction, Instruction, Position, Word } from "../ast.ts";
import { expandWithMatches } from "../shell/index.ts";
import type { StageGraph, StageNode } from "./stage-graph.ts";

/** BuildKit's PATH for a stage whose base has none (scratch, or an image without ENV PATH). */
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** What is known about a stage's environment while walking its instructions in order. */
export interface StageState {
  /** Variables known to be set: ARG values and ENV, from this stage and the stages it is built on. */
  env: Map<string, string>;
  /** False when the stage chain starts from an image whose ENV is unknown (no registry is asked). */
  envComplete: boolean;
  /** ARG names declared in the stage chain (declared without a value still counts). */
  declaredArgs: Set<string>;
  /** ENV keys the Dockerfile sets in the stage chain (as opposed to what the base image may set). */
  envSet: Set<string>;
  /** A SHELL instruction ran in the stage chain. */
  shellSet: boolean;
  /** A WORKDIR ran in the stage chain. */
  workdirSet: boolean;
}

export interface ArgResolution {
  value: string | undefined;
  /** True when the value was taken from the global ARG of the same name (declared here without a value). */
  fromGlobal: boolean;
}

export interface ExpandedWord {
  value: string;
  unmatched: ReadonlySet<string>;
}

export interface WalkHooks {
  /** Before an instruction's effect on the state (the state is what the instruction sees). */
  before?(stage: StageNode, ins: Instruction, state: StageState): void;
  /** A word the instruction expands: its value and the variables it used that were not set. */
  expanded?(stage: StageNode, ins: Instruction, word: Word, result: ExpandedWord, state: StageState): void;
  /** An ARG declaration, resolved as BuildKit's dispatch does. */
  arg?(
    stage: StageNode,
    ins: ArgInstruction,
    decl: ArgDeclaration,
    resolved: ArgResolution,
    state: StageState,
  ): void;
}

/**
 * Walks the given stages (and the stages they are built on, first) instruction by instruction, tracking
 * the environment the way BuildKit's dispatch does, and reports each expansion to the hooks. Returns each
 * walked stage's final state by index.
 */
export function walkStages(
  graph: StageGraph,
  stageIndices: readonly number[],
  buildArgs: Readonly<Record<string, string>>,
  hooks: WalkHooks = {},
): Map<number, StageState> {
  const done = new Map<number, StageState>();
  const visit = (index: number): StageState => {
    const existing = done.get(index);
    if (existing) return existing;
    const stage = graph.stages[index]!;
    const state = initialState(stage, stage.baseStage === undefined ? undefined : visit(stage.baseStage));
    for (const ins of stage.body) {
      hooks.before?.(stage, ins, state);
      apply(graph, stage, ins, state, buildArgs, hooks);
    }
    done.set(index, state);
    return state;
  };
  for (const i of [...stageIndices].sort((a, b) => a - b)) visit(i);
  return done;
}

function initialState(stage: StageNode, base: StageState | undefined): StageState {
  if (base) {
    return {
      env: new Map(base.env),
      envComplete: base.envComplete,
      declaredArgs: new Set(base.declaredArgs),
      envSet: new Set(base.envSet),
      shellSet: base.shellSet,
      workdirSet: base.workdirSet,
    };
  }
  const scratch = stage.baseName.toLowerCase() === "scratch";
  return {
    env: new Map([["PATH", DEFAULT_PATH]]),
    envComplete: scratch,
    declaredArgs: new Set(),
    envSet: new Set(),
    shellSet: false,
    workdirSet: false,
  };
}

function apply(
  graph: StageGraph,
  stage: StageNode,
  ins: Instruction,
  state: StageState,
  buildArgs: Readonly<Record<string, string>>,
  hooks: WalkHooks,
): void {
  const expand = (word: Word): string => {
    const r = expandWithMatches(word.value, state.env, {
      escapeChar: graph.ast.escapeChar,
      at: { source: graph.ast, pos: word.pos },
    });
    hooks.expanded?.(stage, ins, word, { value: r.value, unmatched: r.unmatched }, state);
    return r.value;
  };
  const flagWord = (value: string | undefined, pos: Position | undefined): Word | undefined =>
    value === undefined || pos === undefined ? undefined : { value, pos };

  switch (ins.keyword) {
    case "ARG":
      for (const decl of ins.declarations) {
        const hasOverride = Object.hasOwn(buildArgs, decl.name);
        const hasDefault = decl.defaultValue !== undefined;
        let value: string | undefined;
        let fromGlobal = false;
        if (!hasDefault && !hasOverride && graph.metaEnv.has(decl.name)) {
          value = graph.metaEnv.get(decl.name);
          fromGlobal = true;
        }
        if (hasOverride) value = buildArgs[decl.name];
        else if (hasDefault) value = expand({ value: decl.defaultValue!, pos: decl.valuePos ?? decl.pos });
        hooks.arg?.(stage, ins, decl, { value, fromGlobal }, state);
        if (value !== undefined) state.env.set(decl.name, value);
        state.declaredArgs.add(decl.name);
      }
      return;
    case "ENV": {
      // Every pair sees the environment from before the instruction (`ENV A=1 B=$A` uses the old A).
      const pairs = ins.pairs.map((p) => [
        expand({ value: p.key, pos: p.pos }),
        expand({ value: p.value, pos: p.valuePos }),
      ]);
      for (const [k, v] of pairs) {
        state.env.set(k!, v!);
        state.envSet.add(k!);
      }
      return;
    }
    case "LABEL":
      for (const p of ins.pairs) {
        expand({ value: p.key, pos: p.pos });
        expand({ value: p.value, pos: p.valuePos });
      }
      return;
    case "COPY":
    case "ADD": {
      const heredocNames = new Set(ins.heredocs.map((h) => h.name));
      for (const src of ins.sources) {
        if (src.value.startsWith("<<") && heredocNames.size > 0) continue;
        expand(src);
      }
      expand(ins.dest);
      const flags = [ins.chown, ins.chmod, ...ins.excludes, ins.keyword === "COPY" ? ins.from : ins.checksum];
      for (const f of flags) {
        const w = flagWord(f?.value, f?.valuePos);
        if (w) expand(w);
      }
      return;
    }
    case "WORKDIR":
      expand(ins.path);
      state.workdirSet = true;
      return;
    case "USER":
      expand(ins.user);
      return;
    case "STOPSIGNAL":
      expand(ins.signal);
      return;
    case "EXPOSE":
      // BuildKit sorts EXPOSE's words as written before it expands them, so its findings come in that order.
      for (const p of [...ins.ports].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0)))
        expand(p);
      return;
    case "VOLUME":
      for (const p of ins.paths) expand(p);
      return;
    case "SHELL":
      state.shellSet = true;
      return;
    default:
      return;
  }
}
