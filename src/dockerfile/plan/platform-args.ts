import { formatPlatform, normalizePlatform, type Platform } from "../../oci/platform.ts";
import { EnvList } from "./env-list.ts";

/** The build args BuildKit defines for every build, in this order. */
export const PLATFORM_ARG_NAMES = [
  "TARGETPLATFORM",
  "TARGETOS",
  "TARGETARCH",
  "TARGETVARIANT",
  "BUILDPLATFORM",
  "BUILDOS",
  "BUILDARCH",
  "BUILDVARIANT",
] as const;

/**
 * The automatic platform args of one target platform. They live in the global scope: usable in FROM lines
 * without a declaration, and inside a stage only once declared with `ARG NAME` (no value). TARGET* always
 * describe the platform being built for, whatever platform a stage runs on (`FROM --platform=$BUILDPLATFORM`
 * stages cross-compile for TARGETARCH).
 */
export function platformArgs(target: Platform, build: Platform): EnvList {
  return EnvList.from(platformArgPairs(target, build));
}

/** The automatic platform args as name/value pairs, in BuildKit's order (shared by planner and outline). */
export function platformArgPairs(target: Platform, build: Platform): [string, string][] {
  const t = normalizePlatform(target);
  const b = normalizePlatform(build);
  return [
    ["TARGETPLATFORM", formatPlatform(t)],
    ["TARGETOS", t.os],
    ["TARGETARCH", t.architecture],
    ["TARGETVARIANT", t.variant ?? ""],
    ["BUILDPLATFORM", formatPlatform(b)],
    ["BUILDOS", b.os],
    ["BUILDARCH", b.architecture],
    ["BUILDVARIANT", b.variant ?? ""],
  ];
}
