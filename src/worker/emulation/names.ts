import { UserError } from "../../errors/user-error.ts";
import { normalizePlatform, type Platform, parsePlatform } from "../../oci/platform.ts";

/**
 * `polyarch binfmt --install` takes GOARCH-style names as tonistiigi/binfmt does (arm64, arm, riscv64…);
 * QEMU names its emulators after the kernel's machine names (aarch64, arm, riscv64…).
 */
const qemuNameByArch: Record<string, string> = {
  amd64: "x86_64",
  "386": "i386",
  arm64: "aarch64",
  arm: "arm",
  riscv64: "riscv64",
  ppc64le: "ppc64le",
  ppc64: "ppc64",
  s390x: "s390x",
  mips64le: "mips64el",
  mips64: "mips64",
  mipsle: "mipsel",
  mips: "mips",
  loong64: "loongarch64",
};

/** The name to give `polyarch binfmt --install` for a platform (its architecture). */
export function installNameFor(platform: Platform): string {
  return normalizePlatform(platform).architecture;
}

/** The QEMU machine name (qemu-NAME) that emulates this platform, or undefined when QEMU has none. */
export function qemuNameFor(platform: Platform): string | undefined {
  return qemuNameByArch[normalizePlatform(platform).architecture];
}

export const knownInstallNames = Object.keys(qemuNameByArch);

/**
 * Resolves one item of an --install list to a QEMU machine name. Accepts an architecture (arm64), a
 * platform (linux/arm/v7), a QEMU name (aarch64) or a handler name (qemu-aarch64).
 */
export function qemuNameFromInput(item: string): string {
  const text = item.trim().toLowerCase();
  const bare = text.startsWith("qemu-") ? text.slice("qemu-".length) : text;
  if (Object.values(qemuNameByArch).includes(bare)) return bare;
  let name: string | undefined;
  try {
    name = qemuNameFor(parsePlatform(bare));
  } catch {
    name = undefined;
  }
  if (name) return name;
  throw new UserError(`unknown emulator ${JSON.stringify(item)}`, {
    hint: `use all, or a comma-separated list of: ${knownInstallNames.join(", ")}`,
  });
}
