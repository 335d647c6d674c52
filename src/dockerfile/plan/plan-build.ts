import { UserError } from "../../errors/user-error.ts";
import { canonicalPlatform, emptyGraph } from "../../graph/build.ts";
import type { Digest } from "../../oci/digest.ts";
import type { ContainerConfig, ImageConfig } from "../../oci/image-config.ts";
import { hostPlatform, normalizePlatform, type Platform, samePlatform } from "../../oci/platform.ts";
import type { DockerfileAst } from "../ast.ts";
import { type DockerfileSource, didYouMean } from "../errors.ts";
import { reachableStages } from "./dependencies.ts";
import { dispatchStage } from "./dispatch-stage.ts";
import { expandAt } from "./expand.ts";
import { platformArgs } from "./platform-args.ts";
import { resolveImages } from "./resolve-images.ts";
import { resolvedKey } from "./sources.ts";
import { formatContextRef, type StageHead, stageHead } from "./stage-head.ts";
import { findStageByName, type StageDef, splitStages } from "./stages.ts";
import type { PlatformContext } from "./state.ts";
import { imageTriggers, type StageCommand, stageTriggers } from "./triggers.ts";
import type {
  BuildPlan,
  PlanOptions,
  PlatformMismatch,
  PlatformPlan,
  ResolvedImage,
  StageBase,
} from "./types.ts";

/**
 * Plans a build: one graph for every target platform, in which work that does not depend on the target
 * (a `FROM --platform=$BUILDPLATFORM` stage before it declares a TARGET* arg, a context copy…) is one vertex.
 * Only the stages the target needs are planned. Errors are positioned UserErrors.
 */
export async function planBuild(ast: DockerfileAst, options: PlanOptions = {}): Promise<BuildPlan> {
  const source: DockerfileSource = { file: ast.file, lines: ast.lines };
  const split = splitStages(ast, source);
  const build = canonicalPlatform(options.buildPlatform ?? hostPlatform());
  const platforms: Platform[] = [];
  for (const p of options.platforms?.length ? options.platforms : [build]) {
    const n = canonicalPlatform(p);
    if (!platforms.some((q) => samePlatform(q, n))) platforms.push(n);
  }
  const target = resolveTarget(split.stages, options.target);
  const graph = emptyGraph();
  const cache = new Map<string, Promise<ResolvedImage>>();
  const resolver = options.resolver;
  const resolveImage = resolver
    ? (ref: string, platform: Platform): Promise<ResolvedImage> => {
        const key = resolvedKey(ref, platform);
        let p = cache.get(key);
        if (!p) {
          p = resolver.resolveImage(ref, platform);
          cache.set(key, p);
        }
        return p;
      }
    : undefined;

  const results: PlatformPlan[] = [];
  for (const platform of platforms) {
    const globalArgs = platformArgs(platform, build);
    // As current BuildKit: the name of the stage being built, for stages that declare `ARG TARGETSTAGE`.
    globalArgs.set("TARGETSTAGE", split.stages[target]!.name ?? "default");
    const ctx: PlatformContext = {
      source,
      escapeChar: ast.escapeChar,
      graph,
      stages: split.stages,
      target: platform,
      build,
      multiPlatform: platforms.length > 1,
      globalArgs,
      buildArgs: options.buildArgs ?? {},
      namedContexts: options.namedContexts ?? [],
      contextExcludePatterns: options.contextExcludePatterns,
      stepOptions: options.stepOptions ?? {},
      states: new Map(),
      resolveImage,
      resolved: new Map(),
      configComplete: true,
      singleStage: split.stages.length === 1,
    };
    for (const instr of split.globalArgs) {
      for (const decl of instr.declarations) {
        let value: string | undefined;
        if (Object.hasOwn(ctx.buildArgs, decl.name)) value = ctx.buildArgs[decl.name];
        else if (decl.defaultValue !== undefined)
          value = expandAt(ctx, decl.defaultValue, ctx.globalArgs, decl.valuePos ?? decl.pos);
        if (value !== undefined) ctx.globalArgs.set(decl.name, value);
      }
    }
    results.push(await planPlatform(ctx, target, options.labels));
  }
  return {
    graph,
    platforms: results,
    stages: split.stages.map((s) => s.info),
    target,
    proxyEnv: proxyEnv(options.buildArgs ?? {}),
    globalArgs: split.globalArgs.flatMap((i) =>
      i.declarations.map((d) => ({ name: d.name, defaultValue: d.defaultValue })),
    ),
  };
}

/** The predefined proxy args: usable without an ARG, kept out of digests and history (as BuildKit does). */
const PROXY_ARGS = new Set(["HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY"]);

function proxyEnv(buildArgs: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(buildArgs)) if (PROXY_ARGS.has(k.toUpperCase())) out[k] = v;
  return out;
}

function resolveTarget(stages: readonly StageDef[], target: string | undefined): number {
  if (target === undefined || target === "") return stages.length - 1;
  const stage = findStageByName(stages, target);
  if (stage) return stage.index;
  const names = stages.flatMap((s) => (s.name ? [s.name] : []));
  const suggestion = didYouMean(target, names);
  throw new UserError(`target stage "${target}" could not be found`, {
    hint: names.length
      ? `${suggestion ? `${suggestion} ` : ""}stages: ${names.join(", ")}`
      : "no stage has a name; name one with FROM IMAGE AS NAME",
  });
}

async function planPlatform(
  ctx: PlatformContext,
  target: number,
  labels: Readonly<Record<string, string>> | undefined,
): Promise<PlatformPlan> {
  const heads = ctx.stages.map((s) => stageHead(ctx, s));
  const triggers = new Map<number, StageCommand[]>();
  for (const [i, head] of heads.entries()) {
    if (head.kind === "stage") triggers.set(i, stageTriggers(ctx.stages[head.index]!));
  }

  // Reachable stages; resolving base images may add ONBUILD triggers, which may reach further stages.
  let reachable = reachableStages(ctx, heads, triggers, target);
  for (;;) {
    await resolveImages(ctx, heads, triggers, reachable);
    let added = false;
    for (const i of reachable) {
      const head = heads[i]!;
      if (
        triggers.has(i) ||
        (head.kind !== "image" && !(head.kind === "context" && head.context.kind === "image"))
      )
        continue;
      const ref = head.kind === "image" ? head.ref : formatContextRef(head);
      const resolved = ctx.resolved.get(resolvedKey(ref, head.platform ?? ctx.target));
      const onbuild = resolved?.config.config?.OnBuild ?? [];
      triggers.set(i, imageTriggers(onbuild, ref, ctx.source, ctx.stages[i]!.from.pos));
      if (onbuild.length > 0) added = true;
    }
    if (!added) break;
    // Each stage gets its image triggers once, so this ends; the next pass resolves what they brought in.
    reachable = reachableStages(ctx, heads, triggers, target);
  }

  for (const i of reachable) {
    const state = dispatchStage(ctx, ctx.stages[i]!, heads[i]!, triggers.get(i) ?? []);
    ctx.states.set(i, state);
  }

  const final = ctx.states.get(target)!;
  const image = structuredClone(final.image) as ImageConfig & { config: ContainerConfig };
  if (labels && Object.keys(labels).length > 0) image.config.Labels = { ...image.config.Labels, ...labels };
  const t = ctx.target;
  const sameOsArch = t.os === image.os && t.architecture === image.architecture;
  image.os = t.os;
  image.architecture = t.architecture;
  if (t.variant || !sameOsArch) {
    if (t.variant) image.variant = t.variant;
    else delete image.variant;
  }
  const stageBases: Record<number, StageBase> = {};
  const stageOutputs: Record<number, Digest> = {};
  for (const i of reachable) {
    stageBases[i] = ctx.states.get(i)!.stageBase;
    stageOutputs[i] = ctx.states.get(i)!.vertex;
  }
  return {
    platform: ctx.target,
    output: final.vertex,
    image,
    layerVertices: [...final.layerVertices],
    baseVertex: final.baseVertex,
    baseImage: final.baseImage,
    configComplete: ctx.configComplete,
    stagesUsed: reachable,
    stageBases,
    stageOutputs,
    platformMismatches: platformMismatches(ctx, heads, reachable),
  };
}

/** Reachable stages whose image (resolved) is for another os or architecture than the stage asked for. */
function platformMismatches(
  ctx: PlatformContext,
  heads: readonly StageHead[],
  reachable: readonly number[],
): PlatformMismatch[] {
  const out: PlatformMismatch[] = [];
  for (const i of reachable) {
    const head = heads[i]!;
    if (head.kind !== "image") continue;
    const wanted = head.platform ?? ctx.target;
    const expected = normalizePlatform(wanted);
    const resolved = ctx.resolved.get(resolvedKey(head.ref, wanted));
    if (!resolved) continue;
    const c = resolved.config;
    if (c.os === expected.os && c.architecture === expected.architecture) continue;
    const actual: Platform = { os: c.os, architecture: c.architecture };
    if (c.variant) actual.variant = c.variant;
    const stage = ctx.stages[i]!;
    out.push({
      image: expandAt(ctx, stage.from.image.value, ctx.globalArgs, stage.from.image.pos),
      expected,
      actual: normalizePlatform(actual),
      range: stage.from.range,
    });
  }
  return out;
}
