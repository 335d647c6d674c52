// The Dockerfile planner: semantics of stages, ARG/ENV, platforms and instructions, compiled to a build graph.
export { planBuild } from "./plan-build.ts";
export { PLATFORM_ARG_NAMES } from "./platform-args.ts";
export { formatPlan } from "./print.ts";
export type * from "./types.ts";
