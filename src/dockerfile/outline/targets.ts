import type { DockerfileAst, Position } from "../ast.ts";
import type { StageGraph } from "./stage-graph.ts";
import { buildStageGraph } from "./stage-graph.ts";

/** A stage as `--call targets` lists it. */
export interface TargetInfo {
  /** The `AS` name (lower case); unnamed stages have none. */
  name: string | undefined;
  /** The stage built when no `--target` is given (the last one). */
  default: boolean;
  /** The comment above FROM that starts with the stage name (BuildKit's convention). */
  description: string;
  /** The FROM argument as written. */
  base: string;
  /** The `--platform` flag as written. */
  platform: string | undefined;
  pos: Position;
}

/** Every stage of the Dockerfile, in order, the last marked as the default target. */
export function listTargets(ast: DockerfileAst): TargetInfo[] {
  return targetsOf(buildStageGraph(ast));
}

export function targetsOf(graph: StageGraph): TargetInfo[] {
  return graph.stages.map((s, i) => ({
    name: s.name,
    default: i === graph.stages.length - 1,
    description: s.description,
    base: s.from.image.value,
    platform: s.from.platform?.value,
    pos: s.from.pos,
  }));
}
