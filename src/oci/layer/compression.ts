/**
 * Layer compression: recognising a blob's compression by its magic bytes (a pulled layer's media type is
 * a claim, its bytes are the truth) and the zlib streams for gzip and zstd.
 */
import { Readable, type Transform } from "node:stream";
import zlib from "node:zlib";
import { UserError } from "../../errors/user-error.ts";
import type { LayerCompression } from "../media-types.ts";

export function detectCompression(head: Uint8Array): LayerCompression | "xz" | "bzip2" {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b)) return "gzip";
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return "zstd";
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return "xz";
  if (starts(0x42, 0x5a, 0x68)) return "bzip2";
  return "none";
}

export interface CompressOptions {
  /** gzip 1-9 (default 6, zlib's and BuildKit's default); zstd 1-22 (default 3). */
  level?: number;
}

export function compressor(compression: LayerCompression, options: CompressOptions = {}): Transform | null {
  if (compression === "gzip") return zlib.createGzip({ level: options.level ?? 6 });
  if (compression === "zstd") {
    return zlib.createZstdCompress({
      params: { [zlib.constants.ZSTD_c_compressionLevel]: options.level ?? 3 },
    });
  }
  return null;
}

/**
 * The uncompressed tar bytes of a layer blob in any compression polyarch reads, found by sniffing the
 * first bytes. Errors of either stream surface when the result is read.
 */
export async function decompressedLayer(blob: AsyncIterable<Uint8Array>): Promise<Readable> {
  const iterator = blob[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < 6) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(Buffer.from(next.value));
    headLength += next.value.byteLength;
  }
  const kind = detectCompression(Buffer.concat(head));
  if (kind === "xz" || kind === "bzip2") {
    throw new UserError(`layer is compressed with ${kind}, which OCI layers do not use`, {
      hint: "OCI layers are plain tar, gzip or zstd; recompress the layer with one of those",
    });
  }
  const source = Readable.from(
    (async function* () {
      yield* head;
      if (ended) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    })(),
    { objectMode: false },
  );
  if (kind === "none") return source;
  // Larger output chunks than zlib's 16 KiB default: fewer, bigger writes when unpacking.
  const chunkSize = 128 * 1024;
  const inflate =
    kind === "gzip" ? zlib.createGunzip({ chunkSize }) : zlib.createZstdDecompress({ chunkSize });
  source.on("error", (err) => inflate.destroy(err));
  inflate.on("close", () => source.destroy());
  return source.pipe(inflate);
}
