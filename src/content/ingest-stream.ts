import { Writable } from "node:stream";
import type { BlobInfo, BlobIngester, BlobWriter } from "./types.ts";

/**
 * A Writable into the content store: bytes stream into an ingest file and are committed (fsynced, renamed
 * into place) when the stream finishes; a failed or destroyed stream stores nothing.
 */
export async function ingestStream(
  store: BlobIngester,
): Promise<{ stream: Writable; committed: Promise<BlobInfo> }> {
  const writer: BlobWriter = await store.openWriter(undefined);
  let resolveInfo!: (info: BlobInfo) => void;
  let rejectInfo!: (e: unknown) => void;
  const committed = new Promise<BlobInfo>((resolve, reject) => {
    resolveInfo = resolve;
    rejectInfo = reject;
  });
  // Nobody may be waiting when the stream fails early; the pipeline reports that error itself.
  committed.catch(() => {});
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writer.write(chunk).then(() => callback(), callback);
    },
    writev(chunks, callback) {
      writer.writev(chunks.map((c) => c.chunk as Buffer)).then(() => callback(), callback);
    },
    final(callback) {
      writer.commit().then(
        (info) => {
          resolveInfo(info);
          callback();
        },
        (e) => {
          rejectInfo(e);
          callback(e);
        },
      );
    },
    destroy(error, callback) {
      if (error) {
        rejectInfo(error);
        writer.abort().then(
          () => callback(error),
          () => callback(error),
        );
      } else callback(null);
    },
  });
  return { stream, committed };
}
