import type { Instruction, Position } from "../ast.ts";
import { DockerfileError, type DockerfileSource, dockerfileError } from "../errors.ts";
import { parseDockerfile } from "../parse/index.ts";
import type { StageDef } from "./stages.ts";

/** An instruction a stage runs: its own, or an ONBUILD trigger of its base (run first). */
export interface StageCommand {
  instr: Instruction;
  onbuild: boolean;
  /**
   * For a trigger read from a base image's config: the image, so that errors point at the FROM line (the
   * trigger's text is not in this Dockerfile).
   */
  foreignImage?: string;
  /**
   * A trigger written in this file that does not parse: `instr` is its ONBUILD line and this the parse
   * error, raised when a stage that runs the trigger is planned (BuildKit parses triggers only then).
   */
  error?: Error;
}

/** The ONBUILD instructions written in a stage, as the commands a stage built FROM it runs first. */
export function stageTriggers(base: StageDef): StageCommand[] {
  return base.instructions.flatMap((i) =>
    i.keyword === "ONBUILD"
      ? [i.trigger ? { instr: i.trigger, onbuild: true } : { instr: i, onbuild: true, error: i.triggerError }]
      : [],
  );
}

/** Parses the ONBUILD expressions of a base image's config into commands; errors point at the FROM. */
export function imageTriggers(
  expressions: readonly string[],
  image: string,
  source: DockerfileSource,
  fromPos: Position,
): StageCommand[] {
  return expressions.map((expression) => {
    let parsed: Instruction[];
    try {
      parsed = parseDockerfile(expression, { file: `ONBUILD of ${image}` }).instructions;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw dockerfileError(
        `ONBUILD trigger ${JSON.stringify(expression)} of ${image} is invalid: ${why}`,
        source,
        fromPos,
        {
          cause: e,
        },
      );
    }
    const instr = parsed[0];
    if (parsed.length !== 1 || !instr) {
      throw dockerfileError(
        `ONBUILD trigger of ${image} should be a single instruction: ${expression}`,
        source,
        fromPos,
      );
    }
    if (instr.keyword === "ONBUILD" || instr.keyword === "FROM" || instr.keyword === "MAINTAINER") {
      throw dockerfileError(
        `${instr.keyword} isn't allowed as an ONBUILD trigger (in ${image})`,
        source,
        fromPos,
      );
    }
    return { instr, onbuild: true, foreignImage: image };
  });
}

/** Re-points an error raised while running a foreign trigger at the FROM line that pulled it in. */
export function relocateTriggerError(
  e: unknown,
  command: StageCommand,
  source: DockerfileSource,
  fromPos: Position,
): unknown {
  if (command.foreignImage === undefined || !(e instanceof DockerfileError)) return e;
  return dockerfileError(
    `ONBUILD trigger "${command.instr.line}" of ${command.foreignImage}: ${e.message}`,
    source,
    fromPos,
    e.hint === undefined ? { cause: e } : { hint: e.hint, cause: e },
  );
}
