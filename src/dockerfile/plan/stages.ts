import type { ArgInstruction, DockerfileAst, FromInstruction, Instruction } from "../ast.ts";
import { type DockerfileSource, dockerfileError } from "../errors.ts";
import type { StageInfo } from "./types.ts";

/** A stage as written: its FROM and the instructions up to the next FROM. */
export interface StageDef {
  index: number;
  from: FromInstruction;
  /** The `AS` name, lower case. */
  name: string | undefined;
  instructions: Instruction[];
  info: StageInfo;
}

export interface SplitDockerfile {
  /** ARG instructions before the first FROM. */
  globalArgs: ArgInstruction[];
  stages: StageDef[];
}

/** Splits the instructions into the global ARGs and the stages, checking what may appear where. */
export function splitStages(ast: DockerfileAst, source: DockerfileSource): SplitDockerfile {
  const globalArgs: ArgInstruction[] = [];
  const stages: StageDef[] = [];
  for (const instr of ast.instructions) {
    if (instr.keyword === "FROM") {
      const index = stages.length;
      const name = instr.stageName?.toLowerCase();
      const stage: StageDef = {
        index,
        from: instr,
        name,
        instructions: [],
        info: {
          index,
          name,
          displayName: name ?? `stage-${index}`,
          base: instr.image.value,
          platform: instr.platform?.value,
          description: instr.comments.map((c) => c.text).join("\n"),
          pos: instr.pos,
        },
      };
      stages.push(stage);
      continue;
    }
    const current = stages[stages.length - 1];
    if (current) current.instructions.push(instr);
    else if (instr.keyword === "ARG") globalArgs.push(instr);
    else {
      throw dockerfileError(`${instr.keyword} is not allowed before the first FROM`, source, instr.pos, {
        hint: "only ARG may come before FROM; start a stage with FROM IMAGE first",
      });
    }
  }
  if (stages.length === 0) {
    const pos = ast.instructions[0]?.pos ?? { line: 1, column: 1 };
    throw dockerfileError("dockerfile contains no stages to build: it has no FROM instruction", source, pos, {
      hint: "add FROM IMAGE (or FROM scratch) to start a stage",
    });
  }
  return { globalArgs, stages };
}

/**
 * Finds a stage by its `AS` name (case-insensitive, as BuildKit does). A name given twice is only a
 * DuplicateStageName warning in BuildKit, and the later stage wins: pass the stages before a FROM to find
 * the one it builds on, all of them for `--target` and `COPY --from` (BuildKit resolves those after reading
 * every stage, so a COPY between the two stages names the second).
 */
export function findStageByName(stages: readonly StageDef[], name: string): StageDef | undefined {
  const lower = name.toLowerCase();
  return stages.findLast((s) => s.name === lower);
}
