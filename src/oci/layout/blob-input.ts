import type { Digest } from "../digest.ts";
import type { LayoutBlobOpener } from "./blob-source.ts";

/** One blob to put in a layout: its descriptor and where its bytes come from. */
export interface LayoutBlobInput {
  descriptor: { digest: Digest; size: number; mediaType?: string };
  /** Bytes, verified against the descriptor as they are written. Opened only when the blob is written. */
  source?: LayoutBlobOpener;
  /**
   * A file holding exactly the blob's bytes, already verified (e.g. a content store path): copied, or
   * reflinked where the filesystem can, without hashing again.
   */
  path?: string;
}

export function sortedBlobs(blobs: Iterable<LayoutBlobInput>): LayoutBlobInput[] {
  return [...blobs].sort((a, b) =>
    a.descriptor.digest < b.descriptor.digest ? -1 : a.descriptor.digest > b.descriptor.digest ? 1 : 0,
  );
}
