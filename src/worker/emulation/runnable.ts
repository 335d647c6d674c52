import { existsSync } from "node:fs";
import { UserError } from "../../errors/user-error.ts";
import { formatPlatform, hostPlatform, normalizePlatform, type Platform } from "../../oci/platform.ts";
import { type BinfmtState, readBinfmtState } from "./binfmt-proc.ts";
import { elfIdentFromMagic, platformsForElf } from "./elf-platform.ts";
import { installNameFor } from "./names.ts";

/** A platform this machine can run, natively or through a binfmt_misc handler. */
export interface RunnablePlatform {
  platform: Platform;
  native: boolean;
  /** For an emulated platform: the handler's name and interpreter. */
  handler?: string;
  emulator?: string;
}

/** A handler that exists but cannot serve containers, kept to explain why a platform cannot run. */
export interface UnusableHandler {
  handler: string;
  platforms: Platform[];
  reason: "disabled" | "no-fix-binary";
}

export interface EmulationReport {
  binfmt: BinfmtState;
  runnable: RunnablePlatform[];
  unusable: UnusableHandler[];
}

export interface DetectOptions {
  binfmtDir?: string;
  host?: Platform;
  /** Whether an arm64 host can run 32-bit arm code itself; default: what the kernel reports. */
  aarch32?: boolean;
}

/**
 * Arm64 CPUs may or may not run AArch32 code (many recent ones cannot). The kernel registers its
 * deprecated-instruction emulation knobs under /proc/sys/abi only when 32-bit EL0 is supported, which is
 * a cheap signal that needs no test binary.
 */
function hostRunsAarch32(): boolean {
  return existsSync("/proc/sys/abi/cp15_barrier") || existsSync("/proc/sys/abi/swp");
}

function nativePlatforms(host: Platform, aarch32: boolean | undefined): Platform[] {
  const h = normalizePlatform(host);
  const out: Platform[] = [h];
  if (h.os !== "linux") return out;
  if (h.architecture === "amd64") out.push({ os: "linux", architecture: "386" });
  if (h.architecture === "arm64" && (aarch32 ?? hostRunsAarch32()))
    out.push(
      { os: "linux", architecture: "arm", variant: "v7" },
      { os: "linux", architecture: "arm", variant: "v6" },
    );
  if (h.architecture === "arm" && h.variant === "v7")
    out.push({ os: "linux", architecture: "arm", variant: "v6" });
  return out;
}

/** Same architecture and, for arm (where v6 and v7 binaries differ), the same variant. */
function sameRunnable(a: Platform, b: Platform): boolean {
  const x = normalizePlatform(a);
  const y = normalizePlatform(b);
  if (x.os !== y.os || x.architecture !== y.architecture) return false;
  if (x.architecture === "arm") return (x.variant ?? "v7") === (y.variant ?? "v7");
  return true;
}

/** Which platforms can run here: the native ones first, then one entry per platform a usable handler adds. */
export async function detectEmulation(options: DetectOptions = {}): Promise<EmulationReport> {
  const binfmt = await readBinfmtState(options.binfmtDir);
  const runnable: RunnablePlatform[] = nativePlatforms(options.host ?? hostPlatform(), options.aarch32).map(
    (platform) => ({ platform, native: true }),
  );
  const unusable: UnusableHandler[] = [];
  for (const entry of binfmt.entries) {
    const ident = entry.magic ? elfIdentFromMagic(entry.magic, entry.offset) : undefined;
    const platforms = ident ? platformsForElf(ident) : [];
    if (platforms.length === 0) continue;
    if (!binfmt.enabled || !entry.enabled) {
      unusable.push({ handler: entry.name, platforms, reason: "disabled" });
      continue;
    }
    // Without F the kernel looks for the interpreter inside the container at exec time, where it is not.
    if (!entry.flags.includes("F")) {
      unusable.push({ handler: entry.name, platforms, reason: "no-fix-binary" });
      continue;
    }
    for (const platform of platforms) {
      if (runnable.some((r) => sameRunnable(r.platform, platform))) continue;
      runnable.push({ platform, native: false, handler: entry.name, emulator: entry.interpreter });
    }
  }
  return { binfmt, runnable, unusable };
}

export function findRunnable(report: EmulationReport, platform: Platform): RunnablePlatform | undefined {
  return report.runnable.find((r) => sameRunnable(r.platform, platform));
}

/** The error for a RUN step whose platform cannot execute here, with the command that fixes it. */
export function cannotRunError(report: EmulationReport, platform: Platform): UserError {
  const name = formatPlatform(platform);
  const install = installNameFor(platform);
  const fix = `run \`polyarch binfmt --install ${install}\` as root, or install qemu-user-static`;
  const broken = report.unusable.find((u) => u.platforms.some((p) => sameRunnable(p, platform)));
  if (broken?.reason === "disabled") {
    return new UserError(`no emulator for ${name}: the binfmt_misc handler ${broken.handler} is disabled`, {
      hint: fix,
    });
  }
  if (broken?.reason === "no-fix-binary") {
    return new UserError(
      `no emulator for ${name}: the binfmt_misc handler ${broken.handler} is registered without the F flag, so containers cannot use it`,
      { hint: `re-register it: ${fix}` },
    );
  }
  if (!report.binfmt.mounted) {
    return new UserError(`no emulator for ${name}: binfmt_misc is not mounted`, { hint: fix });
  }
  return new UserError(`no emulator for ${name}: ${fix}`);
}

/**
 * Answers "can a RUN step for this platform execute here?" cheaply: the native platform never touches
 * /proc; anything else re-reads binfmt_misc, so a handler registered meanwhile is seen at once.
 */
export class EmulationDetector {
  readonly #options: DetectOptions;

  constructor(options: DetectOptions = {}) {
    this.#options = options;
  }

  report(): Promise<EmulationReport> {
    return detectEmulation(this.#options);
  }

  async canRun(platform: Platform): Promise<boolean> {
    if (sameRunnable(platform, this.#options.host ?? hostPlatform())) return true;
    return findRunnable(await this.report(), platform) !== undefined;
  }

  /** Throws the fix-it error when the platform cannot run; returns how it runs otherwise. */
  async assertCanRun(platform: Platform): Promise<RunnablePlatform> {
    const host = this.#options.host ?? hostPlatform();
    if (sameRunnable(platform, host)) return { platform: normalizePlatform(platform), native: true };
    const report = await this.report();
    const found = findRunnable(report, platform);
    if (!found) throw cannotRunError(report, platform);
    return found;
  }
}
