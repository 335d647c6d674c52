import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, readdir, readlink, rename } from "node:fs/promises";
import { join } from "node:path";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { pack } from "tar-stream";
import type { Digest } from "../../src/oci/digest.ts";
import { scratchPathFor } from "./cache.ts";

/**
 * Deterministic layer tars for fixtures: sorted entries, numeric owners (root unless told), one fixed mtime,
 * modes without umask noise. Same files in, same digest out, on any machine.
 */

export const fixtureMtime = new Date("2024-01-01T00:00:00Z");

export interface TarEntry {
  /** Path inside the layer, no leading slash; directories without a trailing slash. */
  path: string;
  type: "file" | "directory" | "symlink";
  mode: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  size?: number;
  /** File content: bytes, or a function opening a stream of exactly `size` bytes. */
  content?: Buffer | (() => Readable);
}

/** The entries of a directory tree, sorted by path, with owners from `owners` (default root). */
export async function entriesOfDir(
  root: string,
  owners: Readonly<Record<string, { uid: number; gid: number }>> = {},
): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  async function walk(rel: string): Promise<void> {
    const names = (await readdir(rel ? join(root, rel) : root)).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = join(root, path);
      const st = await lstat(abs);
      const owner = owners[path] ?? { uid: 0, gid: 0 };
      // Drop group/other write bits a loose umask may have added; keep sticky dirs (/tmp) as they are.
      const mode = st.mode & 0o1000 ? st.mode & 0o7777 : st.mode & 0o7777 & ~0o022;
      if (st.isSymbolicLink()) {
        out.push({ path, type: "symlink", mode: 0o777, ...owner, linkname: await readlink(abs) });
      } else if (st.isDirectory()) {
        out.push({ path, type: "directory", mode, ...owner });
        await walk(path);
      } else if (st.isFile()) {
        out.push({ path, type: "file", mode, ...owner, size: st.size, content: () => createReadStream(abs) });
      }
    }
  }
  await walk("");
  return out;
}

export interface WrittenLayer {
  /** Digest and size of the gzip blob (what the manifest lists). */
  digest: Digest;
  size: number;
  /** Digest of the uncompressed tar (the config's rootfs.diff_ids). */
  diffId: Digest;
}

function hashing(hash: ReturnType<typeof createHash>, counter?: { n: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      if (counter) counter.n += chunk.length;
      done(null, chunk);
    },
  });
}

/**
 * Streams `entries` as a gzip layer into `blobDir/<hex>` and returns its digests; memory stays flat whatever
 * the layer size. `level` 1 suits incompressible benchmark data.
 */
export async function writeGzipLayer(
  entries: readonly TarEntry[],
  blobDir: string,
  level = 6,
): Promise<WrittenLayer> {
  const tar = pack();
  const diffHash = createHash("sha256");
  const blobHash = createHash("sha256");
  const counter = { n: 0 };
  const scratch = scratchPathFor(join(blobDir, "layer"));
  const done = pipeline(
    tar,
    hashing(diffHash),
    createGzip({ level }),
    hashing(blobHash, counter),
    createWriteStream(scratch),
  );
  // Awaited below; this only stops an early failure from counting as unhandled while entries are queued.
  done.catch(() => {});
  for (const e of entries) {
    const header = {
      name: e.type === "directory" ? `${e.path}/` : e.path,
      type: e.type,
      mode: e.mode,
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      uname: "",
      gname: "",
      mtime: fixtureMtime,
    };
    if (e.type === "symlink") {
      tar.entry({ ...header, linkname: e.linkname ?? "" });
    } else if (e.type === "directory") {
      tar.entry(header);
    } else if (Buffer.isBuffer(e.content)) {
      tar.entry({ ...header, size: e.content.length }, e.content);
    } else if (e.content) {
      const sink = tar.entry({ ...header, size: e.size ?? 0 });
      await pipeline(e.content(), sink);
    } else {
      tar.entry({ ...header, size: 0 }, Buffer.alloc(0));
    }
  }
  tar.finalize();
  await done;
  const hex = blobHash.digest("hex");
  await rename(scratch, join(blobDir, hex));
  return {
    digest: `sha256:${hex}` as Digest,
    size: counter.n,
    diffId: `sha256:${diffHash.digest("hex")}` as Digest,
  };
}
