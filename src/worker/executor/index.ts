export { ExecFailedError, ExecStartError, ExecTimeoutError } from "./errors.ts";
export {
  defaultHostname,
  defaultPath,
  type ExecMount,
  type ExecRequest,
  type NetworkMode,
} from "./exec-request.ts";
export {
  type ExecutorOptions,
  type OutputStream,
  RuncExecutor,
  type RunOptions,
  type RunResult,
} from "./executor.ts";
export { type RuncConfig, runcList } from "./runc.ts";
export type { RuntimeSpec } from "./runtime-spec.ts";
export { buildRuntimeSpec, type SpecInput } from "./spec.ts";
export { type ResolvedUser, resolveUser } from "./user.ts";
