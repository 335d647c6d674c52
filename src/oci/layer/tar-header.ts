/**
 * The 512-byte ustar header block (POSIX.1-1988 layout, as read by GNU tar, Go's archive/tar and every
 * OCI tool). Encoding is strict: callers move whatever does not fit into PAX records first (see
 * tar-writer.ts). Decoding is lenient in the ways real tars need: GNU base-256 numbers, space- or
 * NUL-terminated octal, old GNU magic without the ustar prefix field.
 */
import { UserError } from "../../errors/user-error.ts";

export const blockSize = 512;

/** Typeflags polyarch writes or understands. */
export const Typeflag = {
  file: "0",
  oldFile: "\0",
  contiguous: "7",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
  pax: "x",
  paxGlobal: "g",
  gnuLongName: "L",
  gnuLongLink: "K",
} as const;

export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  devmajor: number;
  devminor: number;
}

/** Largest values the octal fields hold: 7 digits for 8-byte fields, 11 for 12-byte ones. */
export const maxOctal8 = 0o7777777;
export const maxOctal12 = 0o77777777777;

/** Encodes a header whose fields all fit (ASCII names within ustar limits, numbers within octal range). */
export function encodeHeader(h: RawHeader): Buffer {
  const block = Buffer.alloc(blockSize);
  const { name, prefix } = splitUstarName(h.name);
  writeString(block, 0, 100, name);
  writeOctal(block, 100, 8, h.mode);
  writeOctal(block, 108, 8, h.uid);
  writeOctal(block, 116, 8, h.gid);
  writeOctal(block, 124, 12, h.size);
  writeOctal(block, 136, 12, h.mtime);
  block.write(h.typeflag, 156, 1, "latin1");
  writeString(block, 157, 100, h.linkname);
  block.write("ustar\u000000", 257, 8, "latin1");
  writeOctal(block, 329, 8, h.devmajor);
  writeOctal(block, 337, 8, h.devminor);
  writeString(block, 345, 155, prefix);
  // The checksum is computed with its own field as eight spaces, then written as 6 digits, NUL, space.
  block.fill(0x20, 148, 156);
  const sum = checksum(block);
  block.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "latin1");
  return block;
}

/**
 * Splits a name into ustar's prefix (155 bytes) and name (100 bytes) fields at a "/", or returns null
 * when it cannot be stored there (then the name goes into a PAX "path" record).
 */
export function fitsUstarName(name: string): boolean {
  return isPlainAscii(name) && trySplit(name) !== null;
}

function splitUstarName(full: string): { name: string; prefix: string } {
  const split = trySplit(full);
  if (split === null) throw new Error(`tar name does not fit a ustar header: ${JSON.stringify(full)}`);
  return split;
}

function trySplit(full: string): { name: string; prefix: string } | null {
  if (full.length <= 100) return { name: full, prefix: "" };
  // The split "/" itself is not stored; choose the first one that leaves a name of at most 100 bytes.
  for (let i = full.indexOf("/"); i >= 0; i = full.indexOf("/", i + 1)) {
    if (i > 155) return null;
    const rest = full.length - i - 1;
    if (rest <= 100 && rest > 0) return { prefix: full.slice(0, i), name: full.slice(i + 1) };
  }
  return null;
}

export function isPlainAscii(text: string): boolean {
  return /^[\x01-\x7f]*$/.test(text);
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  if (value.length > length || !isPlainAscii(value)) {
    throw new Error(`tar header field does not fit: ${JSON.stringify(value)}`);
  }
  block.write(value, offset, length, "latin1");
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value.toString(8).length > length - 1) {
    throw new Error(`tar header number does not fit ${length} bytes: ${value}`);
  }
  block.write(`${value.toString(8).padStart(length - 1, "0")}\u0000`, offset, length, "latin1");
}

function checksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < blockSize; i++) sum += block[i]!;
  return sum;
}

/** Decodes a header block; null for an all-zero block (end of archive). */
export function decodeHeader(block: Buffer, where: string): RawHeader | null {
  if (block.every((b) => b === 0)) return null;
  const stored = parseNumber(block, 148, 8, where);
  const unsigned = checksumWithBlankField(block, false);
  // Some historic writers summed signed bytes; accept either, as GNU tar does.
  if (stored !== unsigned && stored !== checksumWithBlankField(block, true)) {
    throw new UserError(`layer tar: bad header checksum ${where}`, {
      hint: "the layer is corrupt, truncated, or not a tar (a compressed blob that was not recognised?)",
    });
  }
  const magic = block.toString("latin1", 257, 263);
  let name = readString(block, 0, 100);
  // Only POSIX ustar has the prefix field; old GNU headers keep other data at that offset.
  if (magic === "ustar\u0000") {
    const prefix = readString(block, 345, 155);
    if (prefix !== "") name = `${prefix}/${name}`;
  }
  const typeflag = block.toString("latin1", 156, 157);
  return {
    name,
    mode: parseNumber(block, 100, 8, where),
    uid: parseNumber(block, 108, 8, where),
    gid: parseNumber(block, 116, 8, where),
    size: parseNumber(block, 124, 12, where),
    mtime: parseNumber(block, 136, 12, where),
    typeflag,
    linkname: readString(block, 157, 100),
    devmajor: parseNumber(block, 329, 8, where),
    devminor: parseNumber(block, 337, 8, where),
  };
}

function checksumWithBlankField(block: Buffer, signed: boolean): number {
  let sum = 0;
  for (let i = 0; i < blockSize; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    sum += signed && b > 127 ? b - 256 : b;
  }
  return sum;
}

function readString(block: Buffer, offset: number, length: number): string {
  const end = block.indexOf(0, offset);
  return block.toString("utf8", offset, end < 0 || end > offset + length ? offset + length : end);
}

function parseNumber(block: Buffer, offset: number, length: number, where: string): number {
  const field = block.subarray(offset, offset + length);
  if (field[0]! & 0x80) {
    // GNU base-256: big-endian two's complement with the top bit as the marker.
    if (field[0] === 0xff) throw new UserError(`layer tar: negative number in header ${where}`);
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    if (!Number.isSafeInteger(value)) throw new UserError(`layer tar: number too large in header ${where}`);
    return value;
  }
  const nul = field.indexOf(0);
  const digits = field.toString("latin1", 0, nul < 0 ? length : nul).trim();
  if (digits === "") return 0;
  if (!/^[0-7]+$/.test(digits)) throw new UserError(`layer tar: invalid number in header ${where}`);
  return Number.parseInt(digits, 8);
}
