import type { Platform } from "../../oci/platform.ts";
import { platformArgPairs } from "../plan/platform-args.ts";

/**
 * The automatic platform build args BuildKit defines for one target platform: visible in FROM lines, and
 * inside a stage only once declared with `ARG NAME` (no value).
 */
export function platformArgs(target: Platform, build: Platform): Map<string, string> {
  return new Map(platformArgPairs(target, build));
}
