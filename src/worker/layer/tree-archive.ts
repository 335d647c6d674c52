/**
 * A plain directory (a cache mount's) as one deterministic gzip tar, and back. The tar is a layer tar of
 * the whole tree (the layer writer's sorted entries, PAX headers, numeric owners, kept hard links and
 * xattrs), so the same files give the same blob. Unpacking goes through the layer unpacker: every path is
 * resolved inside the target, `..` and links never lead out, and an archive of a directory may hold no
 * device nodes, fifos or whiteouts.
 */
import type { Readable } from "node:stream";
import { ingestStream } from "../../content/ingest-stream.ts";
import type { BlobIngester } from "../../content/types.ts";
import { UserError } from "../../errors/user-error.ts";
import type { Descriptor } from "../../oci/descriptor.ts";
import type { Digest } from "../../oci/digest.ts";
import { whiteoutPrefix } from "../../oci/layer/layer-path.ts";
import { applyLayer } from "./apply-layer.ts";
import { computeChanges } from "./differ.ts";
import { writeLayer } from "./export-layer.ts";

export interface ArchivedTree {
  descriptor: Descriptor;
  diffId: Digest;
  /** Bytes of the uncompressed tar. */
  uncompressedSize: number;
}

/**
 * Archives `dir` into the store. Device nodes, fifos and names a layer would read as whiteouts are left
 * out (a cache holds files, directories and links). Refuses, before writing anything, a tree whose files
 * hold more than `maxBytes`. An empty tree gives undefined.
 */
export async function archiveTree(
  dir: string,
  into: BlobIngester,
  maxBytes: number,
): Promise<ArchivedTree | undefined> {
  const changes = (await computeChanges({ upper: dir, upperKind: "tree" })).filter(
    (c) =>
      !["char", "block", "fifo"].includes(c.entry.type) &&
      !c.entry.path.split("/").some((part) => part.startsWith(whiteoutPrefix)),
  );
  if (changes.length === 0) return undefined;
  const bytes = changes.reduce((sum, c) => sum + c.entry.size, 0);
  if (bytes > maxBytes)
    throw new UserError(`holds ${bytes} bytes of files, more than the bound of ${maxBytes}`);
  const sink = await ingestStream(into);
  const result = await writeLayer(changes, { sink: sink.stream });
  const info = await sink.committed;
  if (info.digest !== result.descriptor.digest)
    throw new Error(`tree archive: stored ${info.digest}, but the tar hashed to ${result.descriptor.digest}`);
  return { descriptor: result.descriptor, diffId: result.diffId, uncompressedSize: result.uncompressedSize };
}

/**
 * Unpacks an archive into `dir` (an existing, empty directory that nothing else uses yet). The archive is
 * untrusted: see the module's comment. Resolves the diff_id of what was unpacked.
 */
export async function unpackTree(blob: Readable, dir: string, maxBytes: number): Promise<Digest> {
  const applied = await applyLayer(blob, { root: dir, plainTree: true, maxBytes });
  return applied.diffId;
}
