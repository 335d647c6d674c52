import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { digestAlgorithm } from "../digest.ts";
import { type ImageIndex, serializeIndex } from "../manifest.ts";
import { type LayoutBlobInput, sortedBlobs } from "./blob-input.ts";
import { openSource, toReadable, VerifyingStream } from "./blob-source.ts";
import { fsyncDir, tempSuffix } from "./fs-atomic.ts";
import { blobRelativePath, blobsDirName, indexFileName, layoutFileBytes, layoutFileName } from "./spec.ts";

export interface TarOptions {
  /** Modification time of every entry; fixed so the same layout gives the same tar bytes. Default: epoch 0. */
  mtime?: Date;
  /** Files written after index.json at the archive's root, e.g. a docker archive's manifest.json. */
  extraFiles?: { name: string; bytes: Uint8Array }[];
}

/**
 * The layout as a deterministic tar stream: entries in path order with each directory before its contents,
 * fixed mtime, uid/gid 0 with no user names, modes 0755/0644. Blobs are opened one at a time as the stream
 * is read, so nothing is buffered beyond a chunk.
 */
export function layoutTarStream(
  blobs: LayoutBlobInput[],
  index: ImageIndex,
  options: TarOptions = {},
): Readable {
  const pack = tar.pack();
  const common = { mtime: options.mtime ?? new Date(0), uid: 0, gid: 0, uname: "", gname: "" };
  const ordered = sortedBlobs(blobs);
  const where = "OCI archive";

  const fill = async () => {
    const dirs = [
      `${blobsDirName}/`,
      ...new Set(ordered.map((b) => `${blobsDirName}/${digestAlgorithm(b.descriptor.digest)}/`)),
    ];
    let nextDir = 0;
    await addDirectory(pack, dirs[nextDir++]!, common);
    for (const blob of ordered) {
      const name = blobRelativePath(blob.descriptor.digest);
      while (nextDir < dirs.length && name.startsWith(dirs[nextDir]!))
        await addDirectory(pack, dirs[nextDir++]!, common);
      const entry = pack.entry({ ...common, name, type: "file", mode: 0o644, size: blob.descriptor.size });
      if (blob.path !== undefined) {
        await pipeline(createReadStream(blob.path), entry);
      } else {
        if (blob.source === undefined) throw new Error(`layout blob ${blob.descriptor.digest} has no source`);
        const source = toReadable(await openSource(blob.source));
        await pipeline(
          source,
          new VerifyingStream(blob.descriptor, `${where} blob ${blob.descriptor.digest}`),
          entry,
        );
      }
    }
    pack.entry({ ...common, name: indexFileName, type: "file", mode: 0o644 }, serializeIndex(index));
    for (const extra of options.extraFiles ?? []) {
      pack.entry({ ...common, name: extra.name, type: "file", mode: 0o644 }, Buffer.from(extra.bytes));
    }
    pack.entry({ ...common, name: layoutFileName, type: "file", mode: 0o644 }, layoutFileBytes());
    pack.finalize();
  };
  fill().catch((e) => pack.destroy(e));
  return Readable.from(pack, { objectMode: false });
}

function addDirectory(pack: tar.Pack, name: string, common: Partial<tar.Header>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    pack.entry({ ...common, name, type: "directory", mode: 0o755 }, (err) => (err ? reject(err) : resolve()));
  });
}

/** Writes the tar to `file` atomically: a temp file next to it, fsynced, then renamed into place. */
export async function writeLayoutTar(
  file: string,
  blobs: LayoutBlobInput[],
  index: ImageIndex,
  options: TarOptions = {},
): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${tempSuffix()}`;
  try {
    await pipeline(
      layoutTarStream(blobs, index, options),
      createWriteStream(tmp, { flags: "wx", flush: true }),
    );
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fsyncDir(dirname(file));
}
