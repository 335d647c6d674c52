import type { Platform } from "../../oci/platform.ts";

/**
 * Which OCI platforms a binfmt handler makes runnable, read from the ELF header its magic matches
 * (class, byte order and e_machine) rather than from its name: handler names differ between distributions
 * and tools (qemu-aarch64, aarch64, qemu-aarch64-static), the ELF header never does.
 */
export interface ElfIdent {
  bits: 32 | 64;
  littleEndian: boolean;
  machine: number;
}

const elfMagic = [0x7f, 0x45, 0x4c, 0x46];

/** Reads class, byte order and machine from a handler's magic bytes (offset 0); undefined when not ELF. */
export function elfIdentFromMagic(magic: Uint8Array, offset = 0): ElfIdent | undefined {
  if (offset !== 0 || magic.length < 20) return undefined;
  if (!elfMagic.every((b, i) => magic[i] === b)) return undefined;
  const cls = magic[4];
  const data = magic[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) return undefined;
  const littleEndian = data === 1;
  const machine = littleEndian ? magic[18]! | (magic[19]! << 8) : (magic[18]! << 8) | magic[19]!;
  return { bits: cls === 1 ? 32 : 64, littleEndian, machine };
}

const linux = (architecture: string, variant?: string): Platform =>
  variant ? { os: "linux", architecture, variant } : { os: "linux", architecture };

/** The platforms an ELF of this kind runs as; empty for machines OCI images do not name. */
export function platformsForElf(id: ElfIdent): Platform[] {
  switch (id.machine) {
    case 62: // EM_X86_64
      return id.bits === 64 ? [linux("amd64")] : [];
    case 3: // EM_386
      return [linux("386")];
    case 183: // EM_AARCH64
      return id.littleEndian ? [linux("arm64")] : [];
    case 40: // EM_ARM: the same handler runs armv7 and armv6 binaries (tonistiigi/binfmt reports both)
      return id.littleEndian ? [linux("arm", "v7"), linux("arm", "v6")] : [];
    case 243: // EM_RISCV
      return id.bits === 64 ? [linux("riscv64")] : [];
    case 21: // EM_PPC64
      return id.littleEndian ? [linux("ppc64le")] : [linux("ppc64")];
    case 22: // EM_S390
      return id.bits === 64 ? [linux("s390x")] : [];
    case 8: // EM_MIPS
      if (id.bits === 64) return [linux(id.littleEndian ? "mips64le" : "mips64")];
      return [linux(id.littleEndian ? "mipsle" : "mips")];
    case 258: // EM_LOONGARCH
      return id.bits === 64 ? [linux("loong64")] : [];
    default:
      return [];
  }
}

/** Decodes the `\xHH` escapes binfmt_misc definitions use for magic and mask. */
export function decodeBinfmtBytes(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\\" && text[i + 1] === "x" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      out.push(Number.parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (text[i] === "\\" && text[i + 1] === "\\") {
      out.push(0x5c);
      i += 1;
    } else {
      out.push(text.charCodeAt(i) & 0xff);
    }
  }
  return Uint8Array.from(out);
}
