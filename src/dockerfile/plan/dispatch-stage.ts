import { canonicalPlatform } from "../../graph/build.ts";
import type { Digest } from "../../oci/digest.ts";
import type { ContainerConfig, ImageConfig } from "../../oci/image-config.ts";
import type { Platform } from "../../oci/platform.ts";
import { stageCommands } from "./dependencies.ts";
import { dispatchInstruction } from "./dispatch.ts";
import { EnvList, splitEnv } from "./env-list.ts";
import { parseImageRef } from "./image-ref.ts";
import { DEFAULT_PATH, resolveWorkdir } from "./paths.ts";
import { imageVertex, localContextVertex, resolvedKey, scratchVertex } from "./sources.ts";
import { formatContextRef, type StageHead } from "./stage-head.ts";
import type { StageDef } from "./stages.ts";
import { HISTORY_COMMENT, type PlatformContext, type StageState, stepName } from "./state.ts";
import { relocateTriggerError, type StageCommand } from "./triggers.ts";
import type { StageBase } from "./types.ts";

type MutableImage = ImageConfig & { config: ContainerConfig };

function emptyImage(platform: Platform, known: boolean): MutableImage {
  const img: MutableImage = {
    architecture: platform.architecture,
    os: platform.os,
    rootfs: { type: "layers", diff_ids: [] },
    config: known ? { WorkingDir: "/" } : {},
    history: [],
  };
  if (platform.variant) img.variant = platform.variant;
  return img;
}

/** Sets up a stage's state from its base, runs its ONBUILD triggers and then its instructions. */
export function dispatchStage(
  ctx: PlatformContext,
  stage: StageDef,
  head: StageHead,
  triggers: StageCommand[],
): StageState {
  const commands = stageCommands(stage, head, triggers);
  const steps = commands.filter(
    (c) => !c.onbuild && ["RUN", "COPY", "ADD", "WORKDIR"].includes(c.instr.keyword),
  ).length;
  let state: StageState;
  if (head.kind === "stage") {
    const base = ctx.states.get(head.index)!;
    const image = structuredClone(base.image);
    delete image.config.OnBuild;
    state = {
      ...base,
      def: stage,
      image,
      env: base.env.clone(),
      layerVertices: [...base.layerVertices],
      buildArgs: [...base.buildArgs],
      cmdIndex: 0,
      cmdTotal: steps + triggers.length,
      cmdSet: false,
      inOnbuild: false,
      stageBase: { kind: "stage", stage: head.index },
    };
  } else {
    state = initialState(ctx, stage, head, steps + triggers.length);
  }

  for (const command of commands) {
    if (command.error) throw command.error;
    state.inOnbuild = command.onbuild;
    try {
      dispatchInstruction(ctx, state, command.instr);
    } catch (e) {
      throw relocateTriggerError(e, command, ctx.source, stage.from.pos);
    }
  }
  state.inOnbuild = false;
  return state;
}

function initialState(
  ctx: PlatformContext,
  stage: StageDef,
  head: Exclude<StageHead, { kind: "stage" }>,
  steps: number,
): StageState {
  const platform = canonicalPlatform(head.platform ?? ctx.target);
  let image: MutableImage;
  let vertex: Digest | undefined;
  let stageBase: StageBase;
  let baseImage: StageState["baseImage"];
  let imageRef: string | undefined;
  let contextLayer: Digest | undefined;
  if (head.kind === "scratch") {
    image = emptyImage(platform, true);
    vertex = scratchVertex(ctx);
    stageBase = { kind: "scratch" };
  } else if (head.kind === "context" && head.context.kind === "local") {
    image = emptyImage(platform, true);
    vertex = localContextVertex(ctx, head.context.name, head.context.excludePatterns, []);
    stageBase = { kind: "context", name: head.context.name };
    // An image built on a directory starts with one layer holding it, on nothing (as BuildKit makes it).
    contextLayer = vertex;
    image.history = [{ created_by: `FROM ${head.context.name} (named context)`, comment: HISTORY_COMMENT }];
  } else {
    imageRef = head.kind === "image" ? head.ref : formatContextRef(head);
    const resolved = ctx.resolved.get(resolvedKey(imageRef, platform));
    if (resolved) {
      image = structuredClone(resolved.config) as MutableImage;
      delete image.created;
      image.config ??= {};
      delete image.config.OnBuild;
      image.history ??= [];
    } else {
      image = emptyImage(platform, false);
      ctx.configComplete = false;
    }
    const parsed = parseImageRef(imageRef);
    const digest = (resolved?.digest ?? (parsed.ok ? parsed.ref.digest : undefined)) as Digest | undefined;
    baseImage = { ref: imageRef, digest };
    stageBase =
      head.kind === "context"
        ? { kind: "context", name: head.context.name }
        : { kind: "image", ref: imageRef, digest };
    const noLayers =
      resolved !== undefined &&
      resolved.config.rootfs.diff_ids.length === 0 &&
      (resolved.config.history ?? []).every((h) => h.empty_layer);
    // Otherwise the image vertex is added below, once the step count (part of its progress name) is known.
    if (noLayers) vertex = scratchVertex(ctx);
  }
  const env = image.config.Env ?? [];
  if (platform.os !== "windows" && !env.some((e) => splitEnv(e)[0] === "PATH")) {
    image.config.Env = [...env, `PATH=${DEFAULT_PATH}`];
  }
  let cwd = "/";
  if (image.config.WorkingDir) {
    cwd = resolveWorkdir("/", image.config.WorkingDir);
    image.config.WorkingDir = cwd;
  }
  const isImage = imageRef !== undefined;
  const state: StageState = {
    def: stage,
    platform,
    vertex: vertex ?? ("" as Digest),
    baseVertex: contextLayer ? scratchVertex(ctx) : (vertex ?? ("" as Digest)),
    layerVertices: contextLayer ? [contextLayer] : [],
    env: EnvList.fromStrings(image.config.Env ?? []),
    image,
    cwd,
    user: image.config.User ?? "",
    buildArgs: [],
    cmdIndex: 0,
    cmdTotal: steps + (isImage ? 1 : 0),
    cmdSet: false,
    inOnbuild: false,
    stageBase,
    baseImage,
  };
  if (isImage && vertex === undefined) {
    const pinned =
      baseImage?.digest && !imageRef!.includes("@") ? `${imageRef}@${baseImage.digest}` : imageRef!;
    state.vertex = imageVertex(ctx, imageRef!, platform, stepName(ctx, state, `FROM ${pinned}`));
    state.baseVertex = state.vertex;
  }
  return state;
}
