/**
 * Hostile tars, byte by byte: a ustar writer that writes exactly what it is told (names with "..", absolute
 * names, links anywhere, device nodes, PAX records that override the ustar name or link name, GNU long
 * names), which no well-behaved library does. Independent of polyarch's own tar code on purpose.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";

export type RawType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

export interface RawEntry {
  name: string;
  type?: RawType;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  content?: string | Buffer;
  devmajor?: number;
  devminor?: number;
  /** PAX records written in an "x" header before this entry (e.g. { path: "../../x" }). */
  pax?: Record<string, string | Buffer>;
  /** A GNU "L" long-name header before this entry. */
  gnuLongName?: string;
}

const typeflags: Record<RawType, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
};

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function header(fields: {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  typeflag: string;
  linkname: string;
  devmajor: number;
  devminor: number;
}): Buffer {
  const h = Buffer.alloc(512);
  const put = (text: string | Buffer, offset: number, width: number) => {
    const b = Buffer.isBuffer(text) ? text : Buffer.from(text);
    b.copy(h, offset, 0, Math.min(b.length, width));
  };
  put(fields.name, 0, 100);
  put(octal(fields.mode, 8), 100, 8);
  put(octal(fields.uid, 8), 108, 8);
  put(octal(fields.gid, 8), 116, 8);
  put(octal(fields.size, 12), 124, 12);
  put(octal(1_700_000_000, 12), 136, 12);
  put("        ", 148, 8);
  put(fields.typeflag, 156, 1);
  put(fields.linkname, 157, 100);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  put(octal(fields.devmajor, 8), 329, 8);
  put(octal(fields.devminor, 8), 337, 8);
  let sum = 0;
  for (const byte of h) sum += byte;
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  return h;
}

function padded(body: Buffer): Buffer[] {
  const rest = body.length % 512;
  return rest === 0 ? [body] : [body, Buffer.alloc(512 - rest)];
}

function paxBody(records: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(records)) {
    const v = Buffer.isBuffer(value) ? value : Buffer.from(value);
    const tail = Buffer.concat([Buffer.from(` ${key}=`), v, Buffer.from("\n")]);
    // The length field counts itself: find the width that is consistent.
    let n = tail.length + 1;
    while (String(n).length + tail.length !== n) n = String(n).length + tail.length;
    parts.push(Buffer.from(String(n)), tail);
  }
  return Buffer.concat(parts);
}

function special(typeflag: string, body: Buffer, name: string): Buffer[] {
  const h = header({
    name,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    typeflag,
    linkname: "",
    devmajor: 0,
    devminor: 0,
  });
  return [h, ...padded(body)];
}

export function rawTar(entries: readonly RawEntry[]): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? "file";
    const body = type === "file" ? Buffer.from(e.content ?? "") : Buffer.alloc(0);
    if (e.pax) out.push(...special("x", paxBody(e.pax), "PaxHeaders/entry"));
    if (e.gnuLongName !== undefined)
      out.push(...special("L", Buffer.from(`${e.gnuLongName}\0`), "././@LongLink"));
    out.push(
      header({
        name: e.name,
        mode: e.mode ?? (type === "dir" ? 0o755 : 0o644),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        size: body.length,
        typeflag: typeflags[type],
        linkname: e.linkname ?? "",
        devmajor: e.devmajor ?? 0,
        devminor: e.devminor ?? 0,
      }),
      ...padded(body),
    );
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

/** A layer blob: the gzip of the tar, with the digests a manifest and config name. */
export function gzipLayer(tar: Buffer): { blob: Buffer; digest: string; diffId: string; size: number } {
  const blob = gzipSync(tar);
  return {
    blob,
    digest: `sha256:${createHash("sha256").update(blob).digest("hex")}`,
    diffId: `sha256:${createHash("sha256").update(tar).digest("hex")}`,
    size: blob.length,
  };
}
