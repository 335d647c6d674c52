import type { Position } from "../ast.ts";
import { type DockerfileSource, didYouMean, dockerfileError } from "../errors.ts";
import { familiarName, formatImageRef, parseImageRef } from "./image-ref.ts";
import { findStageByName, type StageDef } from "./stages.ts";
import type { PlanNamedContext } from "./types.ts";

/** What a `COPY --from=X`, `RUN --mount=from=X` or a `FROM X` names, besides a stage. */
export type FromTarget =
  | { kind: "stage"; index: number }
  | { kind: "image"; ref: string }
  | { kind: "context"; context: PlanNamedContext };

/** The named context that `name` (as written in the Dockerfile) refers to, compared in familiar form. */
export function findNamedContext(
  contexts: readonly PlanNamedContext[],
  name: string,
): PlanNamedContext | undefined {
  if (contexts.length === 0) return undefined;
  const key = familiarKey(name);
  return contexts.find((c) => c.name === name || familiarKey(c.name) === key);
}

function familiarKey(name: string): string {
  const parsed = parseImageRef(name);
  return parsed.ok ? familiarName(parsed.ref) : name;
}

/**
 * Resolves the value of `--from` / `from=`: a stage index, a stage name (case-insensitive), a named context,
 * or else an image reference.
 */
export function resolveFromName(
  name: string,
  stages: readonly StageDef[],
  contexts: readonly PlanNamedContext[],
  source: DockerfileSource,
  pos: Position,
  flag: string,
): FromTarget {
  if (/^\d+$/.test(name)) {
    const index = Number(name);
    if (index >= stages.length) {
      throw dockerfileError(`invalid stage index ${index} in ${flag}`, source, pos, {
        hint: `stages are numbered from 0; this Dockerfile has ${stages.length}`,
      });
    }
    return { kind: "stage", index };
  }
  const stage = findStageByName(stages, name);
  if (stage) return { kind: "stage", index: stage.index };
  const context = findNamedContext(contexts, name);
  if (context) return { kind: "context", context };
  const stageNames = stages.flatMap((s) => (s.name ? [s.name] : []));
  const parsed = parseImageRef(name);
  if (!parsed.ok) {
    const suggestion = didYouMean(name, stageNames);
    throw dockerfileError(`${flag}${name} is neither a stage nor a valid image reference`, source, pos, {
      hint: suggestion ?? (stageNames.length ? `stages: ${stageNames.join(", ")}` : parsed.reason),
    });
  }
  // Any other name is an image, as in BuildKit (a typo of a stage name is reported if the pull fails).
  return { kind: "image", ref: formatImageRef(parsed.ref) };
}
