import { UserError } from "../../errors/user-error.ts";
import { formatPlatform, type Platform } from "../../oci/platform.ts";
import type { Position } from "../ast.ts";
import { didYouMean, dockerfileError } from "../errors.ts";
import { dependencies } from "./dependencies.ts";
import { formatImageRef, parseImageRef } from "./image-ref.ts";
import { resolvedKey } from "./sources.ts";
import { formatContextRef, type StageHead } from "./stage-head.ts";
import type { PlatformContext } from "./state.ts";
import type { StageCommand } from "./triggers.ts";

/** Resolves (once per build) every image the reachable stages start from or copy from. */
export async function resolveImages(
  ctx: PlatformContext,
  heads: readonly StageHead[],
  triggers: ReadonlyMap<number, StageCommand[]>,
  reachable: readonly number[],
): Promise<void> {
  const wanted: { ref: string; platform: Platform; pos: Position; written: string }[] = [];
  for (const i of reachable) {
    const head = heads[i]!;
    const stage = ctx.stages[i]!;
    const pos = stage.from.image.pos;
    const written = stage.from.image.value;
    if (head.kind === "image")
      wanted.push({ ref: head.ref, platform: head.platform ?? ctx.target, pos, written });
    if (head.kind === "context" && head.context.kind === "image")
      wanted.push({ ref: formatContextRef(head), platform: head.platform ?? ctx.target, pos, written });
    for (const { target, use } of dependencies(ctx, stage, head, triggers.get(i) ?? []).images) {
      const fromImage = target.kind === "image" ? target.ref : undefined;
      const fromContext =
        target.kind === "context" && target.context.kind === "image" ? target.context.ref : undefined;
      const raw = fromImage ?? fromContext;
      if (raw === undefined) continue;
      const parsed = parseImageRef(raw);
      const ref = parsed.ok ? formatImageRef(parsed.ref) : raw;
      wanted.push({ ref, platform: ctx.target, pos: use.pos, written: use.name });
    }
  }
  const todo = wanted.filter((w) => !ctx.resolved.has(resolvedKey(w.ref, w.platform)));
  if (!ctx.resolveImage) {
    if (todo.length > 0) ctx.configComplete = false;
    return;
  }
  const resolve = ctx.resolveImage;
  const stageNames = ctx.stages.flatMap((s) => (s.name ? [s.name] : []));
  await Promise.all(
    todo.map(async (w) => {
      try {
        ctx.resolved.set(resolvedKey(w.ref, w.platform), await resolve(w.ref, w.platform));
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        // A name that is not a stage is pulled as an image; when it fails, a near stage name is the likely fix.
        const suggestion = didYouMean(w.written, stageNames);
        const hint = suggestion ? `${suggestion} (a name that is not a stage is pulled as an image)` : e.hint;
        throw dockerfileError(`${w.ref} (${formatPlatform(w.platform)}): ${e.message}`, ctx.source, w.pos, {
          ...(hint === undefined ? {} : { hint }),
          cause: e,
        });
      }
    }),
  );
}
