import { addVertex } from "../../graph/build.ts";
import type { ImageSource, LocalSource } from "../../graph/types.ts";
import type { Digest } from "../../oci/digest.ts";
import type { Platform } from "../../oci/platform.ts";
import type { Position } from "../ast.ts";
import { dockerfileError } from "../errors.ts";
import { resolveFromName } from "./from-refs.ts";
import { formatImageRef, parseImageRef } from "./image-ref.ts";
import { platformText } from "./platform-text.ts";
import type { PlatformContext, StageState } from "./state.ts";

export function scratchVertex(ctx: PlatformContext): Digest {
  return addVertex(ctx.graph, { kind: "source", source: { type: "scratch" } }, []);
}

/** A local directory narrowed to the paths one step needs, so its cache key covers only those files. */
export function localContextVertex(
  ctx: PlatformContext,
  name: string,
  excludePatterns: readonly string[] | undefined,
  followPaths: readonly string[],
): Digest {
  const source: LocalSource = { type: "local", name };
  if (excludePatterns?.length) source.excludePatterns = [...excludePatterns];
  const paths = [...new Set(followPaths)].sort();
  if (paths.length > 0 && !paths.includes("") && !paths.includes(".")) source.followPaths = paths;
  // BuildKit's names: the main context is `[internal] load build context`, a named one `[context NAME] …`.
  return addVertex(ctx.graph, { kind: "source", source }, [], {
    name: name === "context" ? "[internal] load build context" : `[context ${name}] load from client`,
  });
}

export function resolvedKey(ref: string, platform: Platform): string {
  return `${ref}|${platformText(platform)}`;
}

/** An image for one platform, pinned to the resolver's digest (or the digest written in the reference). */
export function imageVertex(ctx: PlatformContext, ref: string, platform: Platform, name?: string): Digest {
  const source: ImageSource = { type: "image", ref, platform };
  const resolved = ctx.resolved.get(resolvedKey(ref, platform));
  const parsed = parseImageRef(ref);
  const digest = resolved?.digest ?? (parsed.ok ? parsed.ref.digest : undefined);
  if (digest) source.digest = digest as Digest;
  return addVertex(ctx.graph, { kind: "source", source }, [], name ? { name } : undefined);
}

/**
 * The vertex a `--from=NAME` (COPY) or `from=NAME` (RUN --mount) reads: an earlier stage's result, a named
 * context, or an image for the target platform. `followPaths` narrows a local context to what is read.
 */
export function fromSourceVertex(
  ctx: PlatformContext,
  state: StageState,
  name: string,
  pos: Position,
  flag: string,
  followPaths: readonly string[] = [],
): Digest {
  const target = resolveFromName(name, ctx.stages, ctx.namedContexts, ctx.source, pos, flag);
  switch (target.kind) {
    case "stage": {
      const current = state.def;
      if (target.index === current.index) {
        throw dockerfileError(
          `circular dependency detected on stage: ${current.info.displayName}`,
          ctx.source,
          pos,
          {
            hint: "a stage can only read from stages defined before it",
          },
        );
      }
      const source = ctx.stages[target.index]!;
      if (target.index > current.index) {
        throw dockerfileError(
          `cannot copy from stage "${source.info.displayName}", it needs to be defined before current stage "${current.info.displayName}"`,
          ctx.source,
          pos,
          { hint: "move the stage you read from above this one" },
        );
      }
      const dispatched = ctx.states.get(target.index);
      if (!dispatched)
        throw new Error(`planner: stage ${target.index} was not dispatched before it was used`);
      return dispatched.vertex;
    }
    case "context":
      if (target.context.kind === "local")
        return localContextVertex(ctx, target.context.name, target.context.excludePatterns, followPaths);
      {
        const parsed = parseImageRef(target.context.ref);
        return imageVertex(ctx, parsed.ok ? formatImageRef(parsed.ref) : target.context.ref, ctx.target);
      }
    case "image":
      return imageVertex(ctx, target.ref, ctx.target);
  }
}
