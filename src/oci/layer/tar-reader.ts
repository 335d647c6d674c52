/**
 * Reads a tar stream entry by entry without holding any content in memory. Understands what layer tars
 * contain in practice: ustar, PAX ("x" per entry, "g" global), GNU long names ("L"/"K") and base-256
 * numbers. Names are returned as written, uncleaned: deciding what a name may touch is the applier's job.
 *
 * Hand-written rather than tar-stream's extract because that one decodes PAX values as UTF-8 (losing
 * binary xattrs) and ignores PAX uid/gid/mtime.
 */
import { UserError } from "../../errors/user-error.ts";
import type { EntryType, Timestamp } from "./entry.ts";
import { decodePax, type PaxRecords, parsePaxTime, xattrPaxPrefix } from "./pax.ts";
import { blockSize, decodeHeader, type RawHeader, Typeflag } from "./tar-header.ts";

export interface TarEntry {
  /** The name as stored (PAX path or GNU long name applied), not yet cleaned. */
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Timestamp;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Map<string, Buffer>;
  /** The content; skipped automatically if the caller moves on without reading it. */
  body: AsyncIterable<Buffer>;
}

/** Special entries (PAX, GNU long names) are small; a huge one is an attempt to exhaust memory. */
const maxSpecialSize = 1024 * 1024;

const entryTypes: Record<string, EntryType> = {
  [Typeflag.file]: "file",
  [Typeflag.oldFile]: "file",
  [Typeflag.contiguous]: "file",
  [Typeflag.hardlink]: "hardlink",
  [Typeflag.symlink]: "symlink",
  [Typeflag.char]: "char",
  [Typeflag.block]: "block",
  [Typeflag.dir]: "dir",
  [Typeflag.fifo]: "fifo",
};

/** Buffers just enough of a chunk stream to hand out exact byte counts. */
class ByteSource {
  #iterator: AsyncIterator<Uint8Array>;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #done = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#iterator = source[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    if (this.#done) return false;
    const next = await this.#iterator.next();
    if (next.done) {
      this.#done = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value)
      ? next.value
      : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    return true;
  }

  /** Exactly n bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.#buffered < n && (await this.#fill()));
    const take = Math.min(n, this.#buffered);
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
    const out = all.subarray(0, take);
    const rest = all.subarray(take);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return out;
  }

  /** Up to n bytes as they arrive, without joining them. */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.#buffered === 0 && !(await this.#fill())) return;
      const chunk = this.#chunks.shift();
      if (chunk === undefined) continue;
      if (chunk.length > left) {
        this.#chunks.unshift(chunk.subarray(left));
        this.#buffered -= left;
        yield chunk.subarray(0, left);
        return;
      }
      this.#buffered -= chunk.length;
      left -= chunk.length;
      yield chunk;
    }
  }

  /** Reads and drops everything left, e.g. so a digest of the whole stream can be completed. */
  async drain(): Promise<void> {
    this.#chunks = [];
    this.#buffered = 0;
    while (await this.#fill()) {
      this.#chunks = [];
      this.#buffered = 0;
    }
  }
}

function truncated(where: string): UserError {
  return new UserError(`layer tar: unexpected end of data ${where}`, {
    hint: "the layer blob is truncated or corrupt; pull or build it again",
  });
}

export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const bytes = new ByteSource(source);
  let global: PaxRecords = new Map();
  let pax: PaxRecords | null = null;
  let longName: string | null = null;
  let longLink: string | null = null;
  let lastName = "(start of archive)";
  for (;;) {
    const where = `after entry ${JSON.stringify(lastName)}`;
    const block = await bytes.read(blockSize);
    if (block.length === 0) return; // EOF without end blocks: tolerated, as GNU tar does
    if (block.length < blockSize) throw truncated(where);
    const raw = decodeHeader(block, where);
    if (raw === null) {
      await bytes.drain();
      return;
    }
    const padded = Math.ceil(raw.size / blockSize) * blockSize;
    if (isSpecial(raw.typeflag)) {
      if (raw.size > maxSpecialSize) {
        throw new UserError(
          `layer tar: oversized ${describeSpecial(raw.typeflag)} (${raw.size} bytes) ${where}`,
        );
      }
      const data = await bytes.read(padded);
      if (data.length < padded) throw truncated(where);
      const body = data.subarray(0, raw.size);
      if (raw.typeflag === Typeflag.pax) pax = decodePax(body, where);
      else if (raw.typeflag === Typeflag.paxGlobal) global = new Map([...global, ...decodePax(body, where)]);
      else if (raw.typeflag === Typeflag.gnuLongName) longName = cString(body);
      else longLink = cString(body);
      continue;
    }
    const records: PaxRecords = new Map([...global, ...(pax ?? [])]);
    const entry = toEntry(raw, records, longName, longLink, where);
    pax = null;
    longName = null;
    longLink = null;
    lastName = entry.name;
    // Only regular files carry data; other types' size fields are ignored, as Go's archive/tar does.
    const dataSize = entry.size;
    let remaining = dataSize;
    const endedEarly = () => truncated(`in entry ${JSON.stringify(entry.name)}`);
    entry.body = (async function* () {
      for await (const chunk of bytes.stream(remaining)) {
        remaining -= chunk.length;
        yield chunk;
      }
      if (remaining > 0) throw endedEarly();
    })();
    yield entry;
    // Whatever the consumer did not read of the content is skipped here, so the stream stays aligned.
    if (remaining > 0) {
      for await (const chunk of bytes.stream(remaining)) remaining -= chunk.length;
      if (remaining > 0) throw endedEarly();
    }
    const pad = Math.ceil(dataSize / blockSize) * blockSize - dataSize;
    if (pad > 0 && (await bytes.read(pad)).length < pad) throw truncated(where);
  }
}

function isSpecial(typeflag: string): boolean {
  return (
    typeflag === Typeflag.pax ||
    typeflag === Typeflag.paxGlobal ||
    typeflag === Typeflag.gnuLongName ||
    typeflag === Typeflag.gnuLongLink
  );
}

function describeSpecial(typeflag: string): string {
  return typeflag === Typeflag.pax || typeflag === Typeflag.paxGlobal ? "PAX header" : "GNU long name";
}

function cString(data: Buffer): string {
  const nul = data.indexOf(0);
  return data.toString("utf8", 0, nul < 0 ? data.length : nul);
}

function toEntry(
  raw: RawHeader,
  pax: PaxRecords,
  longName: string | null,
  longLink: string | null,
  where: string,
): TarEntry {
  let name = longName ?? raw.name;
  let linkname = longLink ?? raw.linkname;
  let { uid, gid, size } = raw;
  let mtime: Timestamp = { sec: raw.mtime, nsec: 0 };
  const xattrs = new Map<string, Buffer>();
  for (const [key, value] of pax) {
    const text = () => value.toString("utf8");
    if (key === "path") name = text();
    else if (key === "linkpath") linkname = text();
    else if (key === "uid") uid = paxNumber(text(), key, where);
    else if (key === "gid") gid = paxNumber(text(), key, where);
    else if (key === "size") size = paxNumber(text(), key, where);
    else if (key === "mtime") mtime = parsePaxTime(text()) ?? mtime;
    else if (key.startsWith(xattrPaxPrefix)) xattrs.set(key.slice(xattrPaxPrefix.length), value);
    else if (key.startsWith("GNU.sparse.")) {
      throw new UserError(`layer tar: sparse file ${JSON.stringify(name)} is not supported`, {
        hint: "write the layer without --sparse",
      });
    }
  }
  let type = entryTypes[raw.typeflag];
  if (type === undefined) {
    throw new UserError(
      `layer tar: entry ${JSON.stringify(name)} has unsupported type ${JSON.stringify(raw.typeflag)}`,
      { hint: "layers may hold files, directories, links, devices and fifos only" },
    );
  }
  // Pre-POSIX tars mark directories only by a trailing slash on a regular-file header.
  if (type === "file" && raw.typeflag !== Typeflag.contiguous && name.endsWith("/")) type = "dir";
  return {
    name,
    type,
    mode: raw.mode & 0o7777,
    uid,
    gid,
    size: type === "file" ? size : 0,
    mtime,
    linkname,
    devmajor: raw.devmajor,
    devminor: raw.devminor,
    xattrs,
    body: emptyBody(),
  };
}

async function* emptyBody(): AsyncGenerator<Buffer> {}

function paxNumber(text: string, key: string, where: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new UserError(`layer tar: invalid PAX ${key} ${JSON.stringify(text)} ${where}`);
  }
  return value;
}
