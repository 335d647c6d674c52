/**
 * Writes a layer tar deterministically: the same entries and contents always give the same bytes, so
 * the same tree always gives the same diff_id. Entries must come in layer order (layer-path.ts); numeric
 * owners only (no uname/gname, which would leak the build host's user database); PAX records for
 * whatever ustar cannot hold (long or non-ASCII names, big sizes and ids, sub-second mtimes, xattrs);
 * a file whose inode was already written becomes a hard link to the first path written.
 *
 * The header encoding is our own (tar-header.ts, pax.ts) rather than tar-stream's pack: tar-stream
 * encodes PAX values as UTF-8 text, which corrupts binary xattrs such as security.capability, and it
 * has no PAX uid/gid/mtime, so large ids and sub-second times cannot be written with it.
 */
import { Readable } from "node:stream";
import { UserError } from "../../errors/user-error.ts";
import type { EntryType, LayerEntry, Timestamp } from "./entry.ts";
import { layerSortKey } from "./layer-path.ts";
import { encodePax, formatPaxTime, xattrPaxPrefix } from "./pax.ts";
import {
  blockSize,
  encodeHeader,
  fitsUstarName,
  isPlainAscii,
  maxOctal8,
  maxOctal12,
  type RawHeader,
  Typeflag,
} from "./tar-header.ts";

export interface LayerTarOptions {
  /** "second" (default, as Docker and BuildKit write) drops sub-second mtimes; "nanosecond" keeps them in PAX. */
  mtimePrecision?: "second" | "nanosecond";
  /** SOURCE_DATE_EPOCH in seconds: later mtimes are set to it (BuildKit's rewrite-timestamp). */
  clampMtime?: number;
}

export interface LayerTarItem {
  entry: LayerEntry;
  /** Identity of the file's inode when it has several links; later items with the same key are written as hard links to the first. */
  linkKey?: string;
  /** Opens a file's content; called only if the content is written (not for later links to it). */
  open?: () => AsyncIterable<Uint8Array>;
}

const typeflags: Record<EntryType, string> = {
  file: Typeflag.file,
  hardlink: Typeflag.hardlink,
  symlink: Typeflag.symlink,
  char: Typeflag.char,
  block: Typeflag.block,
  dir: Typeflag.dir,
  fifo: Typeflag.fifo,
};

/** The time a header will carry, after clamping and precision are applied. */
export function effectiveMtime(mtime: Timestamp, options: LayerTarOptions): Timestamp {
  let { sec, nsec } = mtime;
  if (options.mtimePrecision !== "nanosecond") nsec = 0;
  const clamp = options.clampMtime;
  if (clamp !== undefined && (sec > clamp || (sec === clamp && nsec > 0))) return { sec: clamp, nsec: 0 };
  // Times before the epoch have no meaning in an image; ustar cannot hold them either.
  if (sec < 0) return { sec: 0, nsec: 0 };
  return { sec, nsec };
}

/** The header block(s) of one entry: a PAX header first when needed, then the ustar header. */
export function encodeEntryHeader(entry: LayerEntry, options: LayerTarOptions = {}): Buffer {
  const name = entry.type === "dir" ? `${entry.path}/` : entry.path;
  const linkname = entry.linkname ?? "";
  const size = entry.type === "file" ? entry.size : 0;
  const mtime = effectiveMtime(entry.mtime, options);
  const pax = new Map<string, Uint8Array>();
  if (!fitsUstarName(name)) pax.set("path", Buffer.from(name));
  if (!isPlainAscii(linkname) || linkname.length > 100) pax.set("linkpath", Buffer.from(linkname));
  if (size > maxOctal12) pax.set("size", Buffer.from(String(size)));
  if (entry.uid > maxOctal8) pax.set("uid", Buffer.from(String(entry.uid)));
  if (entry.gid > maxOctal8) pax.set("gid", Buffer.from(String(entry.gid)));
  if (mtime.nsec !== 0 || mtime.sec > maxOctal12)
    pax.set("mtime", Buffer.from(formatPaxTime(mtime.sec, mtime.nsec)));
  for (const [key, value] of entry.xattrs ?? []) pax.set(xattrPaxPrefix + key, value);

  const header: RawHeader = {
    name: pax.has("path") ? asciiStandIn(name) : name,
    mode: entry.mode & 0o7777,
    uid: pax.has("uid") ? 0 : entry.uid,
    gid: pax.has("gid") ? 0 : entry.gid,
    size: pax.has("size") ? 0 : size,
    mtime: mtime.sec > maxOctal12 ? 0 : mtime.sec,
    typeflag: typeflags[entry.type],
    linkname: pax.has("linkpath") ? asciiStandIn(linkname) : linkname,
    devmajor: entry.devmajor ?? 0,
    devminor: entry.devminor ?? 0,
  };
  if (pax.size === 0) return encodeHeader(header);

  const keys = [...pax.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const body = encodePax(keys.map((k) => [k, pax.get(k)!] as const));
  const paxHeader = encodeHeader({
    name: asciiStandIn(`PaxHeaders.0/${name.replace(/\/$/, "").split("/").pop()}`),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: 0,
    typeflag: Typeflag.pax,
    linkname: "",
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, body, padding(body.length), encodeHeader(header)]);
}

/** What a reader without PAX support sees: the name made ASCII and cut to the 100-byte name field. */
function asciiStandIn(text: string): string {
  return text.replace(/[^\x01-\x7f]/g, "_").slice(0, 100);
}

const zeros = Buffer.alloc(2 * blockSize);

function padding(size: number): Buffer {
  const rest = size % blockSize;
  return rest === 0 ? zeros.subarray(0, 0) : zeros.subarray(0, blockSize - rest);
}

/** Joins small pieces (headers, small files) into larger chunks, which hashing and zlib digest faster. */
class Coalescer {
  static readonly target = 64 * 1024;
  #pending: Buffer[] = [];
  #length = 0;

  add(piece: Buffer): Buffer[] {
    if (piece.length >= Coalescer.target) return [...this.flush(), piece];
    this.#pending.push(piece);
    this.#length += piece.length;
    return this.#length >= Coalescer.target ? this.flush() : [];
  }

  flush(): Buffer[] {
    if (this.#length === 0) return [];
    const out = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#length);
    this.#pending = [];
    this.#length = 0;
    return [out];
  }
}

/** The tar bytes of a layer, as chunks; contents are streamed, never held whole. */
export async function* layerTarChunks(
  items: AsyncIterable<LayerTarItem> | Iterable<LayerTarItem>,
  options: LayerTarOptions = {},
): AsyncGenerator<Buffer> {
  const out = new Coalescer();
  const firstPathOfInode = new Map<string, string>();
  let previousKey: Buffer | null = null;
  for await (const item of items) {
    let entry = item.entry;
    const key = layerSortKey(entry.path);
    if (previousKey !== null && Buffer.compare(previousKey, key) >= 0) {
      throw new Error(`layer entries out of order or repeated at ${JSON.stringify(entry.path)}`);
    }
    previousKey = key;
    if (entry.type === "file" && item.linkKey !== undefined) {
      const first = firstPathOfInode.get(item.linkKey);
      if (first === undefined) firstPathOfInode.set(item.linkKey, entry.path);
      else entry = { ...entry, type: "hardlink", linkname: first, size: 0 };
    }
    yield* out.add(encodeEntryHeader(entry, options));
    if (entry.type !== "file" || entry.size === 0) continue;
    if (item.open === undefined) throw new Error(`no content given for ${JSON.stringify(entry.path)}`);
    let written = 0;
    for await (const chunk of item.open()) {
      written += chunk.byteLength;
      if (written > entry.size) break;
      yield* out.add(
        Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
      );
    }
    if (written !== entry.size) {
      throw new UserError(`${entry.path} changed while its layer was being written`, {
        hint: `expected ${entry.size} bytes, read ${written}; nothing may write to a snapshot while it is exported`,
      });
    }
    yield* out.add(padding(entry.size));
  }
  yield* out.add(zeros);
  yield* out.flush();
}

export function layerTarStream(
  items: AsyncIterable<LayerTarItem> | Iterable<LayerTarItem>,
  options: LayerTarOptions = {},
): Readable {
  return Readable.from(layerTarChunks(items, options), { objectMode: false });
}
