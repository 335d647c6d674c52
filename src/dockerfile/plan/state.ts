import { canonicalPlatform } from "../../graph/build.ts";
import type { BuildGraph, RunStepOptions } from "../../graph/types.ts";
import type { Digest } from "../../oci/digest.ts";
import type { ContainerConfig, ImageConfig } from "../../oci/image-config.ts";
import { formatPlatform, normalizePlatform, type Platform } from "../../oci/platform.ts";
import type { EscapeChar } from "../ast.ts";
import type { DockerfileSource } from "../errors.ts";
import type { EnvList } from "./env-list.ts";
import { parsePlatformOrUndefined, platformText } from "./platform-text.ts";
import type { StageDef } from "./stages.ts";
import type { PlanNamedContext, ResolvedImage, StageBase } from "./types.ts";

/** BuildKit's history comment; tools such as `docker history` show it. */
export const HISTORY_COMMENT = "buildkit.dockerfile.v0";

/** What a build knows for one target platform while it dispatches the stages. */
export interface PlatformContext {
  source: DockerfileSource;
  escapeChar: EscapeChar;
  graph: BuildGraph;
  stages: readonly StageDef[];
  target: Platform;
  build: Platform;
  multiPlatform: boolean;
  /** Platform args and global ARGs (before the first FROM), as they apply in FROM lines and re-declarations. */
  globalArgs: EnvList;
  buildArgs: Readonly<Record<string, string>>;
  namedContexts: readonly PlanNamedContext[];
  contextExcludePatterns: readonly string[] | undefined;
  stepOptions: RunStepOptions;
  /** Stage states dispatched so far, by stage index. */
  states: Map<number, StageState>;
  /** Resolves an image once per build (shared by all platforms); undefined without a resolver. */
  resolveImage: ((ref: string, platform: Platform) => Promise<ResolvedImage>) | undefined;
  /** Images resolved for this platform, by normalised ref (filled before dispatch). */
  resolved: Map<string, ResolvedImage>;
  /** Whether every base image's config is known. */
  configComplete: boolean;
  /** Whether the Dockerfile has a single stage (BuildKit leaves the stage name out of progress names then). */
  singleStage: boolean;
}

/** A `KEY` or `KEY=value` of an ARG seen in the stage (or inherited from its base stage), for RUN history. */
export interface BuildArgEntry {
  key: string;
  value: string | undefined;
}

/** One stage's state for one platform, as its instructions are dispatched. */
export interface StageState {
  def: StageDef;
  /** The platform the stage's steps run on. */
  platform: Platform;
  /** The current root filesystem. */
  vertex: Digest;
  baseVertex: Digest;
  layerVertices: Digest[];
  /** Variables visible to expansion and to RUN: the image's ENV plus declared ARGs. */
  env: EnvList;
  image: ImageConfig & { config: ContainerConfig };
  cwd: string;
  user: string;
  buildArgs: BuildArgEntry[];
  cmdIndex: number;
  cmdTotal: number;
  /** CMD was set in this stage (an ENTRYPOINT then keeps it). */
  cmdSet: boolean;
  /** Set while the instructions of an ONBUILD trigger run, for progress names. */
  inOnbuild: boolean;
  stageBase: StageBase;
  baseImage: { ref: string; digest: Digest | undefined } | undefined;
}

/** Adds a history entry as BuildKit writes it (`# buildkit` marks entries made by a graph step). */
export function commitHistory(
  state: StageState,
  createdBy: string,
  withLayer: boolean,
  fromStep: boolean,
): void {
  state.image.history ??= [];
  const entry: NonNullable<ImageConfig["history"]>[number] = {
    created_by: fromStep ? `${createdBy} # buildkit` : createdBy,
    comment: HISTORY_COMMENT,
  };
  if (!withLayer) entry.empty_layer = true;
  state.image.history.push(entry);
}

/** The stage's name in progress output: none for a one-stage Dockerfile, else the AS name or `stage-N`. */
export function stageDisplayName(ctx: PlatformContext, state: StageState): string {
  return ctx.singleStage ? "" : state.def.info.displayName;
}

/**
 * The progress name of a step as BuildKit prints it: `[linux/amd64->arm64 builder 3/5] RUN make`. The
 * `->arm64` part appears once the stage has declared a TARGET* arg that differs from where it runs.
 */
export function stepName(ctx: PlatformContext, state: StageState, text: string): string {
  if (state.cmdTotal === 0) return text;
  let out = "[";
  if (ctx.multiPlatform) out += `${platformText(state.platform)}${targetSuffix(state)} `;
  const name = stageDisplayName(ctx, state);
  if (name) out += `${name} `;
  state.cmdIndex++;
  const width = Math.floor(1 + Math.log10(state.cmdTotal));
  out += `${String(state.cmdIndex).padStart(width)}/${state.cmdTotal}] `;
  if (state.inOnbuild) out += "ONBUILD ";
  return out + text;
}

function targetSuffix(state: StageState): string {
  // Stage platforms are already canonical, so this is a lookup, not a copy.
  const base = canonicalPlatform(state.platform);
  let target: Platform | undefined;
  const tp = state.env.get("TARGETPLATFORM");
  if (tp !== undefined) target = parsePlatformOrUndefined(tp);
  if (!target) {
    const os = state.env.get("TARGETOS");
    const arch = state.env.get("TARGETARCH");
    const variant = state.env.get("TARGETVARIANT");
    if (os === undefined && arch === undefined && variant === undefined) return "";
    const p: Platform = { os: os || base.os, architecture: arch || base.architecture };
    if (variant) p.variant = variant;
    target = normalizePlatform(p);
  }
  if (target.os === base.os && target.architecture !== base.architecture)
    return `->${target.architecture}${target.variant ? `/${target.variant}` : ""}`;
  if (target.os !== base.os) return `->${formatPlatform(target)}`;
  return "";
}
