import { arch as hostArch, platform as hostOs } from "node:process";
import { UserError } from "../errors/user-error.ts";

/** The platform an image runs on, in the OCI image spec's shape (field names as in the index). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
}

/**
 * Normalises names the way containerd does, so `linux/aarch64`, `linux/arm64/v8` and `linux/arm64` are
 * one platform and `linux/arm` means `linux/arm/v7`.
 */
export function normalizePlatform(p: Platform): Platform {
  let os = p.os.toLowerCase();
  if (os === "macos") os = "darwin";
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() ?? "";
  switch (architecture) {
    case "i386":
    case "i486":
    case "i586":
    case "i686":
      architecture = "386";
      variant = "";
      break;
    case "x86_64":
    case "x86-64":
    case "amd64":
      architecture = "amd64";
      if (variant === "v1") variant = "";
      break;
    case "aarch64":
    case "arm64":
      architecture = "arm64";
      if (variant === "8" || variant === "v8" || variant === "v8.0") variant = "";
      else if (variant === "9" || variant === "9.0" || variant === "v9.0") variant = "v9";
      break;
    case "armhf":
      architecture = "arm";
      variant = "v7";
      break;
    case "armel":
      architecture = "arm";
      variant = "v6";
      break;
    case "arm":
      if (variant === "" || variant === "7") variant = "v7";
      else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
      break;
  }
  const out: Platform = { os, architecture };
  if (variant) out.variant = variant;
  if (p["os.version"]) out["os.version"] = p["os.version"];
  if (p["os.features"]?.length) out["os.features"] = [...p["os.features"]];
  return out;
}

const componentPattern = /^[A-Za-z0-9_.-]+$/;

/** Parses `os/arch[/variant]` (or a bare arch, taken as linux/arch). */
export function parsePlatform(text: string): Platform {
  const trimmed = text.trim();
  const parts = trimmed.split("/");
  if (trimmed === "" || parts.length > 3 || parts.some((x) => !componentPattern.test(x))) {
    throw new UserError(`invalid platform ${JSON.stringify(text)}`, {
      hint: "a platform looks like linux/amd64, linux/arm64 or linux/arm/v7",
    });
  }
  if (parts.length === 1) {
    // A lone word is an OS if it names one we know, otherwise an architecture (containerd does the same).
    const word = parts[0]!.toLowerCase();
    if (knownOs.has(word)) return normalizePlatform({ os: word, architecture: hostPlatform().architecture });
    return normalizePlatform({ os: "linux", architecture: word });
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return normalizePlatform(variant === undefined ? { os, architecture } : { os, architecture, variant });
}

/** Parses a comma-separated `--platform` list, keeping order and dropping duplicates. */
export function parsePlatformList(text: string): Platform[] {
  const out: Platform[] = [];
  for (const piece of text.split(",")) {
    if (piece.trim() === "") continue;
    const p = parsePlatform(piece);
    if (!out.some((q) => samePlatform(p, q))) out.push(p);
  }
  return out;
}

const knownOs = new Set(["linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos"]);

export function formatPlatform(p: Platform): string {
  const n = normalizePlatform(p);
  return n.variant ? `${n.os}/${n.architecture}/${n.variant}` : `${n.os}/${n.architecture}`;
}

/** The filesystem-safe form buildx uses for per-platform output directories: `linux_arm_v7`. */
export function platformDirName(p: Platform): string {
  return formatPlatform(p).replaceAll("/", "_");
}

/** True when both name the same platform once normalised (os.version is compared only when both set it). */
export function samePlatform(a: Platform, b: Platform): boolean {
  const x = normalizePlatform(a);
  const y = normalizePlatform(b);
  if (x.os !== y.os || x.architecture !== y.architecture || (x.variant ?? "") !== (y.variant ?? ""))
    return false;
  if (x["os.version"] && y["os.version"] && x["os.version"] !== y["os.version"]) return false;
  return true;
}

/**
 * Platforms that can run on `wanted`, best first: the exact platform, then older variants of the same
 * architecture (an armv7 CPU runs v6 and v5 binaries; an amd64 v3 CPU runs v2 and v1), then the 32-bit
 * architecture the CPU also runs (386 for amd64, arm v8…v5 for arm64), as containerd's `platforms.Only`
 * orders them for BuildKit. This is the single matcher every module uses to pick an index entry for a
 * requested platform; a build that falls back to another architecture is told so (InvalidBaseImagePlatform).
 */
export function compatiblePlatforms(wanted: Platform): Platform[] {
  const w = normalizePlatform(wanted);
  const out: Platform[] = [w];
  const ladder: Record<string, string[]> = {
    arm: ["v8", "v7", "v6", "v5"],
    amd64: ["v4", "v3", "v2", ""],
    arm64: ["v9", ""],
  };
  const steps = ladder[w.architecture];
  if (steps) {
    const start = steps.indexOf(w.variant ?? "");
    for (const v of steps.slice(start + 1))
      out.push(v ? { ...w, variant: v } : { os: w.os, architecture: w.architecture });
  }
  if (w.architecture === "amd64") out.push({ os: w.os, architecture: "386" });
  if (w.architecture === "arm64")
    for (const v of ladder.arm!) out.push({ os: w.os, architecture: "arm", variant: v });
  return out;
}

/** 0 is an exact match, higher is a worse fallback, -1 cannot run. */
export function platformMatchRank(wanted: Platform, candidate: Platform): number {
  return compatiblePlatforms(wanted).findIndex((p) => samePlatform(p, candidate));
}

/** Picks the best entry for `wanted` among items that carry a platform, or undefined when none can run. */
export function selectForPlatform<T>(
  items: readonly T[],
  wanted: Platform,
  platformOf: (item: T) => Platform | undefined,
): T | undefined {
  let best: T | undefined;
  let bestRank = Number.POSITIVE_INFINITY;
  for (const item of items) {
    const p = platformOf(item);
    if (!p) continue;
    const rank = platformMatchRank(wanted, p);
    if (rank >= 0 && rank < bestRank) {
      best = item;
      bestRank = rank;
    }
  }
  return best;
}

/** The platform of this machine, e.g. linux/amd64 on an x86_64 Linux host. */
export function hostPlatform(): Platform {
  const archMap: Record<string, string> = {
    x64: "amd64",
    arm64: "arm64",
    arm: "arm",
    ia32: "386",
    ppc64: "ppc64le",
    s390x: "s390x",
    riscv64: "riscv64",
  };
  const os = hostOs === "win32" ? "windows" : hostOs;
  return normalizePlatform({ os, architecture: archMap[hostArch] ?? hostArch });
}
