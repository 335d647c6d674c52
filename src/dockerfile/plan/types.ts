/**
 * The planner's API: `planBuild(ast, options)` turns a parsed Dockerfile into one build graph for all target
 * platforms plus, per platform, the output vertex and the image config the build produces.
 *
 * Stability: the CLI (`build --call`, `--print-graph`), the corpus tests and the solver code against these
 * types; changes are additive only.
 */
import type { BuildGraph, RunStepOptions } from "../../graph/types.ts";
import type { Digest } from "../../oci/digest.ts";
import type { ImageConfig } from "../../oci/image-config.ts";
import type { Platform } from "../../oci/platform.ts";
import type { Position, SourceRange } from "../ast.ts";

/** What a registry says about an image for one platform. */
export interface ResolvedImage {
  /** The normalised reference that was resolved, e.g. `docker.io/library/alpine:3.20`. */
  ref: string;
  /** The digest that pins `ref` (the index's digest for a multi-platform image, else the manifest's). */
  digest: Digest;
  /** The image config of the platform's image (env, workdir, user, ONBUILD, history, diff_ids…). */
  config: ImageConfig;
}

/**
 * Looks up base images. The planner works without one (as `build --call` must, with no registry): base
 * images then stay unpinned and what they would contribute (ENV, WORKDIR, USER, ONBUILD…) is unknown.
 */
export interface ImageMetadataResolver {
  /** `ref` is normalised (`docker.io/library/alpine:latest`) and may carry `@digest`. */
  resolveImage(ref: string, platform: Platform): Promise<ResolvedImage>;
}

/** A `--build-context NAME=…` (the CLI's NamedContext values fit this shape). */
export type PlanNamedContext =
  | {
      /** Familiar name as written after `--build-context` (`alpine`, `src`, `ghcr.io/x/y:1`). */
      name: string;
      kind: "local";
      /** Ignore patterns for this directory (its `.dockerignore`), if any. */
      excludePatterns?: readonly string[];
    }
  | { name: string; kind: "image"; ref: string };

export interface PlanOptions {
  /** Platforms to build for (`--platform`); defaults to the build platform. Several give a multi-platform build. */
  platforms?: readonly Platform[];
  /** The platform of the machine that builds (BUILDPLATFORM); defaults to this machine's. */
  buildPlatform?: Platform;
  /** The stage to build (`--target`, case-insensitive); defaults to the last stage. */
  target?: string;
  /** `--build-arg` values. */
  buildArgs?: Readonly<Record<string, string>>;
  /** `--label` values added to the final image. */
  labels?: Readonly<Record<string, string>>;
  /** `--build-context` values. */
  namedContexts?: readonly PlanNamedContext[];
  /** The main context's `.dockerignore` patterns (the local source named `context`). */
  contextExcludePatterns?: readonly string[];
  resolver?: ImageMetadataResolver;
  /** What every RUN step gets (`--add-host`, `--ulimit`, `--shm-size`), as BuildKit's frontend options. */
  stepOptions?: RunStepOptions;
}

/** A stage as written in the Dockerfile. */
export interface StageInfo {
  index: number;
  /** The `AS` name (lower case), if any. */
  name: string | undefined;
  /** Name used in progress output: the `AS` name, else `stage-N`. */
  displayName: string;
  /** The FROM argument as written (unexpanded). */
  base: string;
  /** The `--platform` flag as written, if any. */
  platform: string | undefined;
  /** Comment lines above the FROM (BuildKit's description for `--call targets`). */
  description: string;
  pos: Position;
}

/** Where a stage's root filesystem comes from, per platform. */
export type StageBase =
  | { kind: "image"; ref: string; digest: Digest | undefined }
  | { kind: "scratch" }
  | { kind: "stage"; stage: number }
  | { kind: "context"; name: string };

/** One target platform's result. */
export interface PlatformPlan {
  platform: Platform;
  /** The target stage's final vertex: the image's root filesystem. */
  output: Digest;
  /**
   * The image config the build writes, BuildKit's way: platform, `config`, `history` (base image's history
   * first). `rootfs.diff_ids` holds only the base image's layers; the exporter appends one per layer vertex.
   */
  image: ImageConfig;
  /**
   * The vertices that each add a layer, in order, one per history entry with `empty_layer` false after the
   * base image's entries. The layer is the difference between the vertex and its input 0 (its parent).
   */
  layerVertices: Digest[];
  /** The vertex the first new layer applies to (the base image, scratch, or a named context). */
  baseVertex: Digest;
  /** The target stage's base image, when it is an image (pinned when a resolver was given). */
  baseImage: { ref: string; digest: Digest | undefined } | undefined;
  /** False when a base image was not resolved: inherited ENV, WORKDIR, USER… are then missing from `image`. */
  configComplete: boolean;
  /** Indices of the stages this platform's build needs, in Dockerfile order. */
  stagesUsed: number[];
  /** Each needed stage's base, by stage index. */
  stageBases: Record<number, StageBase>;
  /** Each needed stage's final vertex, by stage index. */
  stageOutputs: Record<number, Digest>;
  /**
   * Base images that were resolved to another os/architecture than the stage asked for (an amd64 build of
   * an image that has only linux/386): BuildKit's InvalidBaseImagePlatform check, reported with the build's
   * warnings.
   */
  platformMismatches?: PlatformMismatch[];
}

/** One FROM whose image has no entry for the wanted platform, and was taken for a compatible one. */
export interface PlatformMismatch {
  /** The FROM's image name, as written after expansion. */
  image: string;
  expected: Platform;
  actual: Platform;
  /** The FROM line. */
  range: SourceRange;
}

export interface BuildPlan {
  graph: BuildGraph;
  /** In the order of `options.platforms`. */
  platforms: PlatformPlan[];
  /** Every stage of the Dockerfile. */
  stages: StageInfo[];
  /** Index of the target stage. */
  target: number;
  /**
   * The predefined proxy build args given (`HTTP_PROXY`, `https_proxy`, `NO_PROXY`…). RUN steps get them in
   * their environment without an ARG, but, as in BuildKit, they are not part of any vertex (a proxy change
   * does not invalidate the cache) nor of the history: the solver adds them to each exec when it runs it.
   */
  proxyEnv: Record<string, string>;
  /** Global ARGs (before the first FROM) with their defaults as written. */
  globalArgs: { name: string; defaultValue: string | undefined }[];
}
