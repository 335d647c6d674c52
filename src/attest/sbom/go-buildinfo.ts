/**
 * Go modules of a Go binary, from the build information the Go linker embeds (`go version -m`): the ELF
 * section `.go.buildinfo` starts with `\xff Go buildinf:`, a pointer size and flags; with flag 2 (Go 1.18
 * and later) the Go version and the module list follow inline as two varint-prefixed strings. The module
 * list holds `path`, `mod`, `dep` and `=>` (replacement) lines. Every read is bounded; anything that does
 * not parse is not a Go binary of a known kind, and the file is skipped.
 */
import { closeSync } from "node:fs";
import { packagePurl } from "../purl.ts";
import type { FoundPackage } from "./package.ts";
import { openRegular, readAt } from "./tree-files.ts";

const magic = Buffer.from("\xff Go buildinf:", "latin1");
const maxSectionHeaders = 1 << 16;
const maxStringTable = 1 << 20;
const maxBuildInfo = 4 << 20;

interface Section {
  offset: number;
  size: number;
}

/** The section named `.go.buildinfo` of an ELF file, or undefined. */
function findBuildInfoSection(fd: number, fileSize: number): Section | undefined {
  const ident = readAt(fd, 0, 64);
  if (ident.length < 52 || ident.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const is64 = ident[4] === 2;
  const le = ident[5] === 1;
  if (ident[4] !== 1 && !is64) return undefined;
  if (is64 && ident.length < 64) return undefined;
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const uword = (b: Buffer, o: number) =>
    is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o);
  const shoff = uword(ident, is64 ? 0x28 : 0x20);
  const shentsize = u16(ident, is64 ? 0x3a : 0x2e);
  const shnum = u16(ident, is64 ? 0x3c : 0x30);
  const shstrndx = u16(ident, is64 ? 0x3e : 0x32);
  const minEntry = is64 ? 0x40 : 0x28;
  if (shnum === 0 || shentsize < minEntry || shstrndx >= shnum) return undefined;
  const tableSize = shnum * shentsize;
  if (tableSize > maxSectionHeaders || shoff + tableSize > fileSize) return undefined;
  const table = readAt(fd, shoff, tableSize);
  if (table.length < tableSize) return undefined;
  const section = (i: number) => {
    const o = i * shentsize;
    return {
      name: u32(table, o),
      offset: uword(table, o + (is64 ? 0x18 : 0x10)),
      size: uword(table, o + (is64 ? 0x20 : 0x14)),
    };
  };
  const strtab = section(shstrndx);
  if (strtab.size > maxStringTable || strtab.offset + strtab.size > fileSize) return undefined;
  const names = readAt(fd, strtab.offset, strtab.size);
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.name >= names.length) continue;
    const end = names.indexOf(0, s.name);
    if (names.toString("latin1", s.name, end < 0 ? names.length : end) !== ".go.buildinfo") continue;
    if (s.offset + s.size > fileSize) return undefined;
    return { offset: s.offset, size: s.size };
  }
  return undefined;
}

function uvarint(b: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let shift = 0;
  for (let i = at; i < b.length && i < at + 10; i++) {
    const byte = b[i]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
    shift += 7;
  }
  return undefined;
}

/** The Go version and module list text of a binary, when it carries the inline (Go ≥ 1.18) form. */
export function readGoBuildInfo(host: string): { goVersion: string; modinfo: string } | undefined {
  const f = openRegular(host);
  if (!f) return undefined;
  try {
    const section = findBuildInfoSection(f.fd, f.size);
    if (!section) return undefined;
    const data = readAt(f.fd, section.offset, Math.min(section.size, maxBuildInfo));
    if (data.length < 32 || !data.subarray(0, magic.length).equals(magic)) return undefined;
    if ((data[15]! & 2) === 0) return undefined; // pointer-based form of Go < 1.18: not read
    const v = uvarint(data, 32);
    if (!v || v.next + v.value > data.length) return undefined;
    const goVersion = data.toString("utf8", v.next, v.next + v.value);
    const m = uvarint(data, v.next + v.value);
    if (!m || m.next + m.value > data.length) return undefined;
    let modinfo = data.toString("utf8", m.next, m.next + m.value);
    // The list is framed by 16-byte sentinels, the last preceded by a newline.
    if (modinfo.length >= 33 && modinfo[modinfo.length - 17] === "\n") modinfo = modinfo.slice(16, -16);
    return { goVersion, modinfo };
  } finally {
    closeSync(f.fd);
  }
}

function goPurl(path: string, version: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0
    ? packagePurl("golang", undefined, path, version)
    : packagePurl("golang", path.slice(0, slash), path.slice(slash + 1), version);
}

/** The modules a Go binary was built from: the main module, its dependencies (replacements applied), stdlib. */
export function goPackages(host: string, foundIn: string): FoundPackage[] {
  const info = readGoBuildInfo(host);
  if (!info) return [];
  const mods: { path: string; version: string }[] = [];
  for (const line of info.modinfo.split("\n")) {
    const [kind, path, version] = line.split("\t");
    if (!path) continue;
    if (kind === "mod" || kind === "dep") mods.push({ path, version: version ?? "" });
    else if (kind === "=>" && mods.length) mods[mods.length - 1] = { path, version: version ?? "" };
  }
  const out: FoundPackage[] = mods.map((m) => ({
    type: "golang",
    name: m.path,
    version: m.version,
    purl: goPurl(m.path, m.version),
    foundIn,
  }));
  const go = info.goVersion.replace(/^go/, "");
  if (go)
    out.push({
      type: "golang",
      name: "stdlib",
      version: go,
      purl: packagePurl("golang", undefined, "stdlib", go),
      foundIn,
    });
  return out;
}
