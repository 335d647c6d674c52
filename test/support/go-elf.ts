/**
 * A minimal 64-bit little-endian ELF file with a `.go.buildinfo` section in the inline form Go 1.18+
 * writes (magic, pointer size, flags=2, then the Go version and the module list as varint-prefixed
 * strings framed by 16-byte sentinels): what `go version -m` reads, without needing a Go toolchain.
 */
function uvarint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

export function goBinary(goVersion: string, modules: { main: string; deps: [string, string][] }): Buffer {
  const sentinel = Buffer.alloc(16, 0x30);
  const lines = [`path\t${modules.main}`, `mod\t${modules.main}\t(devel)\t`];
  for (const [path, version] of modules.deps) lines.push(`dep\t${path}\t${version}\th1:x=`);
  const modinfo = Buffer.concat([sentinel, Buffer.from(`${lines.join("\n")}\n`), sentinel]);
  modinfo[modinfo.length - 17] = 0x0a;
  const header = Buffer.alloc(32);
  Buffer.from("\xff Go buildinf:", "latin1").copy(header, 0);
  header[14] = 8;
  header[15] = 2;
  const version = Buffer.from(goVersion);
  const buildinfo = Buffer.concat([
    header,
    uvarint(version.length),
    version,
    uvarint(modinfo.length),
    modinfo,
  ]);
  const shstrtab = Buffer.from("\0.shstrtab\0.go.buildinfo\0", "latin1");
  const dataOffset = 64;
  const strOffset = dataOffset + buildinfo.length;
  const shoff = strOffset + shstrtab.length;
  const elf = Buffer.alloc(64);
  elf.writeUInt32BE(0x7f454c46, 0);
  elf[4] = 2; // 64-bit
  elf[5] = 1; // little-endian
  elf[6] = 1;
  elf.writeUInt16LE(2, 16); // ET_EXEC
  elf.writeUInt16LE(62, 18); // x86-64
  elf.writeUInt32LE(1, 20);
  elf.writeBigUInt64LE(BigInt(shoff), 0x28);
  elf.writeUInt16LE(64, 0x34);
  elf.writeUInt16LE(64, 0x3a);
  elf.writeUInt16LE(3, 0x3c);
  elf.writeUInt16LE(1, 0x3e);
  const section = (name: number, type: number, offset: number, size: number) => {
    const s = Buffer.alloc(64);
    s.writeUInt32LE(name, 0);
    s.writeUInt32LE(type, 4);
    s.writeBigUInt64LE(BigInt(offset), 0x18);
    s.writeBigUInt64LE(BigInt(size), 0x20);
    return s;
  };
  return Buffer.concat([
    elf,
    buildinfo,
    shstrtab,
    section(0, 0, 0, 0),
    section(1, 3, strOffset, shstrtab.length),
    section(11, 1, dataOffset, buildinfo.length),
  ]);
}
