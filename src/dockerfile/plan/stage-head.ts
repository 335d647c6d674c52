import { type Platform, parsePlatform } from "../../oci/platform.ts";
import { dockerfileError } from "../errors.ts";
import { expandAt } from "./expand.ts";
import { findNamedContext } from "./from-refs.ts";
import { formatImageRef, parseImageRef } from "./image-ref.ts";
import { findStageByName, type StageDef } from "./stages.ts";
import type { PlatformContext } from "./state.ts";
import type { PlanNamedContext } from "./types.ts";

/** Where a stage starts, once its FROM is expanded for one platform. */
export type StageHead =
  | { kind: "stage"; index: number }
  | { kind: "scratch"; platform: Platform | undefined }
  | { kind: "image"; ref: string; platform: Platform | undefined }
  | { kind: "context"; context: PlanNamedContext; replacesStage: boolean; platform: Platform | undefined };

/** Expands a stage's FROM line with the global ARGs and decides what it builds on. */
export function stageHead(ctx: PlatformContext, stage: StageDef): StageHead {
  const from = stage.from;
  const baseName = expandAt(ctx, from.image.value, ctx.globalArgs, from.image.pos);
  if (baseName === "") {
    throw dockerfileError(`base name (${from.image.value}) should not be blank`, ctx.source, from.image.pos, {
      hint: "declare the ARG before the first FROM with a default, or pass it with --build-arg",
    });
  }
  let platform: Platform | undefined;
  const flag = from.platform;
  if (flag) {
    const at = flag.valuePos ?? flag.pos;
    const value = expandAt(ctx, flag.value ?? "", ctx.globalArgs, at);
    if (value === "") {
      throw dockerfileError(`empty platform value from expression ${flag.value ?? ""}`, ctx.source, at, {
        hint: "use an automatic arg such as $BUILDPLATFORM, or declare the ARG before the first FROM",
      });
    }
    try {
      platform = parsePlatform(value);
    } catch (e) {
      throw dockerfileError(`failed to parse platform ${value}: ${(e as Error).message}`, ctx.source, at, {
        hint: "a platform looks like linux/amd64, linux/arm64 or linux/arm/v7",
      });
    }
  }
  if (stage.name !== undefined) {
    const replaced = findNamedContext(ctx.namedContexts, stage.name);
    if (replaced) return { kind: "context", context: replaced, replacesStage: true, platform };
  }
  const baseStage = findStageByName(ctx.stages.slice(0, stage.index), baseName);
  if (baseStage) return { kind: "stage", index: baseStage.index };
  if (baseName.toLowerCase() === "scratch") return { kind: "scratch", platform };
  const context = findNamedContext(ctx.namedContexts, baseName);
  if (context) return { kind: "context", context, replacesStage: false, platform };
  const parsed = parseImageRef(baseName);
  if (!parsed.ok) {
    throw dockerfileError(
      `failed to parse stage name "${baseName}": ${parsed.reason}`,
      ctx.source,
      from.image.pos,
      {
        hint: "FROM takes an image reference (name[:tag][@digest]), an earlier stage's name, or scratch",
      },
    );
  }
  return { kind: "image", ref: formatImageRef(parsed.ref), platform };
}

export function formatContextRef(head: Extract<StageHead, { kind: "context" }>): string {
  if (head.context.kind !== "image") return head.context.name;
  const parsed = parseImageRef(head.context.ref);
  return parsed.ok ? formatImageRef(parsed.ref) : head.context.ref;
}
