/**
 * The bytes of a possibly compressed file, as ADD reads a local archive: plain, gzip, bzip2, xz or zstd,
 * recognised by magic bytes as Docker's DecompressStream does. Node has gzip and zstd; bzip2 and xz are
 * read through the system's `bzip2 -dc` / `xz -dc` (streamed, so a large archive is never in memory).
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { closeSync, constants, createReadStream, openSync, readSync } from "node:fs";
import type { Readable } from "node:stream";
import zlib from "node:zlib";
import { UserError } from "../../errors/user-error.ts";
import { detectCompression } from "../../oci/layer/compression.ts";

export type Compression = ReturnType<typeof detectCompression>;

export function compressionOf(path: string): Compression {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const head = Buffer.alloc(6);
    const n = readSync(fd, head, 0, head.length, 0);
    return detectCompression(head.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

const tools = { xz: { program: "xz", pkg: "xz-utils" }, bzip2: { program: "bzip2", pkg: "bzip2" } };

/** Streams the decompressed content. Stopping early (breaking out of the loop) releases everything. */
export async function* decompressedFile(path: string, kind: Compression): AsyncGenerator<Buffer> {
  if (kind === "xz" || kind === "bzip2") {
    yield* throughTool(path, tools[kind].program, tools[kind].pkg);
    return;
  }
  const file = createReadStream("", { fd: openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW) });
  if (kind === "none") {
    try {
      for await (const chunk of file) yield chunk as Buffer;
    } finally {
      file.destroy();
    }
    return;
  }
  const inflate = kind === "gzip" ? zlib.createGunzip() : zlib.createZstdDecompress();
  file.on("error", (err) => inflate.destroy(err));
  file.pipe(inflate);
  try {
    for await (const chunk of inflate) yield chunk as Buffer;
  } finally {
    file.destroy();
    inflate.destroy();
  }
}

async function* throughTool(path: string, program: string, pkg: string): AsyncGenerator<Buffer> {
  // The child reads our descriptor, opened without following a link, rather than a path of its own.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  let child: ChildProcessByStdio<null, Readable, Readable>;
  try {
    child = spawn(program, ["-dc"], { stdio: [fd, "pipe", "pipe"] }) as ChildProcessByStdio<
      null,
      Readable,
      Readable
    >;
  } finally {
    closeSync(fd);
  }
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve(code));
  });
  // Handled here as well: a failed spawn rejects before the loop below gets to await it.
  exited.catch(() => {});
  let finished = false;
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    const code = await exited;
    finished = true;
    if (code !== 0) {
      throw new UserError(
        `cannot decompress ${program} archive: ${stderr.trim() || `${program} exited with ${code}`}`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new UserError(
        `reading a ${program}-compressed archive needs the ${program} program, which is not installed`,
        {
          hint: `install it (apt-get install ${pkg}), or give ADD an uncompressed, gzip or zstd archive`,
        },
      );
    }
    throw err;
  } finally {
    if (!finished) {
      child.kill();
      await exited.catch(() => {});
    }
  }
}
