export { type BinfmtEntry, type BinfmtState, readBinfmtState } from "./binfmt-proc.ts";
export { type InstallResult, installEmulators, uninstallEmulators } from "./install.ts";
export { installNameFor } from "./names.ts";
export {
  cannotRunError,
  detectEmulation,
  EmulationDetector,
  type EmulationReport,
  type RunnablePlatform,
} from "./runnable.ts";
