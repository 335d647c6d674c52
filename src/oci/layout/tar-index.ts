import type { FileHandle } from "node:fs/promises";
import { UserError } from "../../errors/user-error.ts";

/** Where a regular file's bytes sit inside a tar file. */
export interface TarEntryLocation {
  offset: number;
  size: number;
}

const block = 512;

/**
 * Lists the regular files of a tar file with the byte range of each, reading only the headers, so a blob can
 * later be streamed straight from the archive. tar-stream only parses sequentially and does not expose
 * offsets without reading every byte before it, hence this small reader of ustar / PAX / GNU long-name headers (enough for what Go's archive/tar,
 * GNU tar, tar-stream and BuildKit write).
 */
export async function indexTar(handle: FileHandle, where: string): Promise<Map<string, TarEntryLocation>> {
  const files = new Map<string, TarEntryLocation>();
  const hardLinks: [string, string][] = [];
  const header = Buffer.alloc(block);
  let position = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};

  for (;;) {
    const { bytesRead } = await handle.read(header, 0, block, position);
    if (bytesRead === 0) break; // some writers omit the two zero blocks at the end
    if (bytesRead < block) throw new UserError(`${where}: tar file is truncated`);
    if (header.every((b) => b === 0)) break;
    if (!checksumOk(header)) {
      throw new UserError(`${where}: not a tar file (bad header checksum at byte ${position})`, {
        hint: "an OCI archive is an uncompressed tar of an OCI image layout",
      });
    }
    const type = String.fromCharCode(header[156] ?? 0);
    let size = readNumber(header, 124, 12);
    if (pax.size !== undefined && type !== "x" && type !== "g") size = Number(pax.size);
    const dataOffset = position + block;
    position = dataOffset + Math.ceil(size / block) * block;

    if (type === "x" || type === "L" || type === "K") {
      const data = Buffer.alloc(size);
      await handle.read(data, 0, size, dataOffset);
      if (type === "x") pax = parsePax(data);
      else if (type === "L") longName = cString(data, 0, size);
      else longLink = cString(data, 0, size);
      continue;
    }
    if (type === "g") continue;

    const name = cleanName(pax.path ?? longName ?? headerName(header));
    const linkName = pax.linkpath ?? longLink ?? cString(header, 157, 100);
    pax = {};
    longName = undefined;
    longLink = undefined;
    if (type === "0" || type === "\0" || type === "7") files.set(name, { offset: dataOffset, size });
    else if (type === "1") hardLinks.push([name, cleanName(linkName)]);
  }
  for (const [name, target] of hardLinks) {
    const location = files.get(target);
    if (location) files.set(name, location);
  }
  return files;
}

function headerName(h: Buffer): string {
  const name = cString(h, 0, 100);
  const isUstar = h.toString("latin1", 257, 262) === "ustar";
  const prefix = isUstar ? cString(h, 345, 155) : "";
  return prefix ? `${prefix}/${name}` : name;
}

function cleanName(name: string): string {
  let n = name;
  while (n.startsWith("./")) n = n.slice(2);
  while (n.startsWith("/")) n = n.slice(1);
  return n.endsWith("/") ? n.slice(0, -1) : n;
}

function cString(buf: Buffer, start: number, length: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString("utf8", start, end >= 0 && end < start + length ? end : start + length);
}

/** Octal, or base-256 (high bit set) for sizes beyond 8 GiB as GNU tar and Go write them. */
function readNumber(buf: Buffer, start: number, length: number): number {
  if ((buf[start]! & 0x80) !== 0) {
    let value = buf[start]! & 0x7f;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + buf[i]!;
    return value;
  }
  const text = buf
    .toString("latin1", start, start + length)
    .replace(/[\0 ]+$/g, "")
    .trim();
  return text === "" ? 0 : Number.parseInt(text, 8);
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < block; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return sum === readNumber(h, 148, 8);
}

/** PAX records are `<length> <key>=<value>\n`, the length counting the whole record. */
function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space < 0) break;
    const length = Number.parseInt(data.toString("latin1", i, space), 10);
    if (!Number.isFinite(length) || length <= 0) break;
    const record = data.toString("utf8", space + 1, i + length - 1);
    const eq = record.indexOf("=");
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += length;
  }
  return out;
}
