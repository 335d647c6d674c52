import type { Instruction, Position } from "../ast.ts";
import { dockerfileError } from "../errors.ts";
import { type FromTarget, resolveFromName } from "./from-refs.ts";
import { splitCsvRecord } from "./run-mounts.ts";
import type { StageHead } from "./stage-head.ts";
import type { StageDef } from "./stages.ts";
import type { PlatformContext } from "./state.ts";
import type { StageCommand } from "./triggers.ts";

/** A `--from=` or `from=` reference in an instruction, with where it is written. */
export interface FromUse {
  name: string;
  pos: Position;
  flag: string;
}

function fromUses(instr: Instruction): FromUse[] {
  if (instr.keyword === "COPY" && instr.from?.value !== undefined) {
    const from = instr.from;
    if (from.value!.includes("$")) {
      throw new FromExpansionError(from.valuePos ?? from.pos);
    }
    return [{ name: from.value!, pos: from.valuePos ?? from.pos, flag: "--from=" }];
  }
  if (instr.keyword === "RUN") {
    const out: FromUse[] = [];
    for (const m of instr.mounts) {
      // Reachability asks this of every RUN for every platform: a mount without the text `from=` has no
      // such field (CSV quoting cannot make one), so it is not split.
      if (m.value === undefined || !hasFromKey.test(m.value)) continue;
      let fields: string[];
      try {
        fields = splitCsvRecord(m.value);
      } catch {
        continue; // reported with its position when the RUN is dispatched
      }
      const isTmpfs = fields.some((f) => /^type=tmpfs$/i.test(f));
      for (const f of fields) {
        const eq = f.indexOf("=");
        if (eq > 0 && f.slice(0, eq).toLowerCase() === "from" && !isTmpfs && !f.slice(eq + 1).includes("$"))
          out.push({ name: f.slice(eq + 1), pos: m.valuePos ?? m.pos, flag: "from=" });
      }
    }
    return out;
  }
  return [];
}

const hasFromKey = /from=/i;

class FromExpansionError extends Error {
  readonly pos: Position;
  constructor(pos: Position) {
    super("variable expansion is not supported for --from");
    this.pos = pos;
  }
}

// A stage's own instructions as commands, made once per stage rather than for every platform and pass.
const ownCommands = new WeakMap<StageDef, readonly StageCommand[]>();

export function stageCommands(
  stage: StageDef,
  head: StageHead,
  triggers: readonly StageCommand[],
): readonly StageCommand[] {
  if (head.kind === "context" && head.replacesStage) return triggers;
  let own = ownCommands.get(stage);
  if (own === undefined) {
    own = stage.instructions.map((instr) => ({ instr, onbuild: false }));
    ownCommands.set(stage, own);
  }
  return triggers.length === 0 ? own : [...triggers, ...own];
}

export function dependencies(
  ctx: PlatformContext,
  stage: StageDef,
  head: StageHead,
  triggers: readonly StageCommand[],
): { stages: number[]; images: { target: FromTarget; use: FromUse }[] } {
  const stages: number[] = [];
  const images: { target: FromTarget; use: FromUse }[] = [];
  if (head.kind === "stage") stages.push(head.index);
  for (const command of stageCommands(stage, head, triggers)) {
    if (command.error) throw command.error;
    let uses: FromUse[];
    try {
      uses = fromUses(command.instr);
      // A trigger from a base image is not in this file: its errors point at the FROM that pulled it in.
      if (command.foreignImage !== undefined) uses = uses.map((u) => ({ ...u, pos: stage.from.pos }));
    } catch (e) {
      if (e instanceof FromExpansionError) {
        throw dockerfileError(
          "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround",
          ctx.source,
          command.foreignImage === undefined ? e.pos : stage.from.pos,
          { hint: "declare ARG V=x before the first FROM, add FROM $V AS src, then COPY --from=src" },
        );
      }
      throw e;
    }
    for (const use of uses) {
      const t = resolveFromName(use.name, ctx.stages, ctx.namedContexts, ctx.source, use.pos, use.flag);
      if (t.kind === "stage") stages.push(t.index);
      else images.push({ target: t, use });
    }
  }
  return { stages, images };
}

/** The stages `target` needs, in Dockerfile order. */
export function reachableStages(
  ctx: PlatformContext,
  heads: readonly StageHead[],
  triggers: ReadonlyMap<number, StageCommand[]>,
  target: number,
): number[] {
  const seen = new Set<number>();
  const todo = [target];
  while (todo.length > 0) {
    const i = todo.pop()!;
    if (seen.has(i)) continue;
    seen.add(i);
    const deps = dependencies(ctx, ctx.stages[i]!, heads[i]!, triggers.get(i) ?? []);
    for (const d of deps.stages) if (!seen.has(d)) todo.push(d);
  }
  return [...seen].sort((a, b) => a - b);
}
