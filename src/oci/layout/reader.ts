import { constants, createReadStream } from "node:fs";
import { lstat, open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { UserError } from "../../errors/user-error.ts";
import type { Descriptor } from "../descriptor.ts";
import { type Digest, DigestMismatchError, digestAlgorithm, digestOf } from "../digest.ts";
import { type AnyManifest, type ImageIndex, parseAnyManifest, parseIndex } from "../manifest.ts";
import { VerifyingStream } from "./blob-source.ts";
import {
  blobRelativePath,
  imageLayoutVersion,
  imageNameAnnotation,
  indexFileName,
  layoutFileName,
  refNameAnnotation,
} from "./spec.ts";
import { indexTar, type TarEntryLocation } from "./tar-index.ts";

/** How the reader gets at the layout's files: a directory, or byte ranges of one tar file. */
interface FileAccess {
  size(relativePath: string): Promise<number | undefined>;
  stream(relativePath: string): Readable;
  read(relativePath: string): Promise<Buffer>;
}

const defaultMaxBytes = 16 * 1024 * 1024;

/** A read-only view of an OCI image layout, from a directory or from a tar archive of one. */
export class OciLayoutReader {
  readonly location: string;
  readonly kind: "directory" | "tar";
  /** index.json as parsed. */
  readonly index: ImageIndex;
  readonly #files: FileAccess;

  private constructor(location: string, kind: "directory" | "tar", index: ImageIndex, files: FileAccess) {
    this.location = location;
    this.kind = kind;
    this.index = index;
    this.#files = files;
  }

  /**
   * Opens a layout directory or a tar file (`oci-archive`), checking oci-layout and parsing index.json.
   * With `noFollow`, a directory's files and blob folders must be what they are named, not links: a
   * layout from elsewhere cannot make polyarch read a host file as one of its blobs.
   */
  static async open(location: string, options: { noFollow?: boolean } = {}): Promise<OciLayoutReader> {
    let s: Awaited<ReturnType<typeof stat>>;
    try {
      s = await stat(location);
    } catch {
      throw new UserError(`OCI layout ${location} does not exist`, {
        hint: "give the path of an OCI image layout directory or of a tar archive of one",
      });
    }
    const kind = s.isDirectory() ? "directory" : "tar";
    const files =
      kind === "directory"
        ? options.noFollow
          ? noFollowDirectoryAccess(location)
          : directoryAccess(location)
        : await tarAccess(location);
    await checkLayoutFile(files, location);
    let indexBytes: Buffer;
    try {
      indexBytes = await files.read(indexFileName);
    } catch {
      throw new UserError(`${location}: OCI layout has no ${indexFileName}`, {
        hint: "the directory or archive is not a complete OCI image layout",
      });
    }
    const index = parseIndex(indexBytes, `${location}/${indexFileName}`);
    return new OciLayoutReader(location, kind, index, files);
  }

  /** The descriptors listed in index.json. */
  get manifests(): Descriptor[] {
    return this.index.manifests;
  }

  /**
   * The index entry a ref names: its `org.opencontainers.image.ref.name`, else its `io.containerd.image.name`.
   * With no ref, the only entry (as skopeo does). Throws a UserError naming the refs the layout has.
   */
  resolve(ref?: string): Descriptor {
    const entries = this.index.manifests;
    if (ref === undefined || ref === "") {
      if (entries.length === 1) return entries[0]!;
      throw new UserError(`${this.location}: OCI layout has ${entries.length} images; name one`, {
        hint: `available refs: ${this.#refList()}`,
      });
    }
    const found =
      entries.find((d) => d.annotations?.[refNameAnnotation] === ref) ??
      entries.find((d) => d.annotations?.[imageNameAnnotation] === ref);
    if (found) return found;
    throw new UserError(`${this.location}: OCI layout has no image named ${JSON.stringify(ref)}`, {
      hint: `available refs: ${this.#refList()}`,
    });
  }

  #refList(): string {
    const names = this.index.manifests
      .map((d) => d.annotations?.[refNameAnnotation] ?? d.annotations?.[imageNameAnnotation])
      .filter((n): n is string => n !== undefined);
    return names.length ? names.join(", ") : "none (entries are unnamed)";
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.#files.size(blobRelativePath(digest))) !== undefined;
  }

  /** A blob's size as stored, or undefined when absent. */
  blobSize(digest: Digest): Promise<number | undefined> {
    return this.#files.size(blobRelativePath(digest));
  }

  /**
   * Streams a blob, verified: the stream fails with DigestMismatchError (or a size error) at the end when the
   * bytes are not what the descriptor (or, given only a digest, the digest) says.
   */
  async readStream(blob: Digest | Pick<Descriptor, "digest" | "size">): Promise<Readable> {
    const { digest, size } = await this.#expect(blob);
    const verifier = new VerifyingStream({ digest, size }, `${this.location} blob ${digest}`);
    const raw = this.#files.stream(blobRelativePath(digest));
    raw.on("error", (e) => verifier.destroy(e));
    return raw.pipe(verifier);
  }

  /** A small blob (manifest, config) in memory, verified. Refuses blobs larger than maxBytes. */
  async readBytes(
    blob: Digest | Pick<Descriptor, "digest" | "size">,
    maxBytes = defaultMaxBytes,
  ): Promise<Buffer> {
    const { digest, size, stored } = await this.#expect(blob);
    // The file's own size counts too: a descriptor may understate it, and the file is read whole.
    if (size > maxBytes || stored > maxBytes) {
      throw new UserError(`${this.location}: blob ${digest} is ${size} bytes, too large to read into memory`);
    }
    const bytes = await this.#files.read(blobRelativePath(digest));
    const where = `${this.location} blob ${digest}`;
    if (bytes.length !== size) {
      throw new UserError(
        `${where}: size does not match its descriptor (expected ${size}, got ${bytes.length})`,
      );
    }
    const actual = digestOf(bytes, digestAlgorithm(digest));
    if (actual !== digest) throw new DigestMismatchError(digest, actual, where);
    return bytes;
  }

  /** Reads and parses a manifest or index the descriptor points at. */
  async readManifest(descriptor: Descriptor): Promise<AnyManifest> {
    const bytes = await this.readBytes(descriptor);
    return parseAnyManifest(bytes, descriptor.mediaType, `${this.location} ${descriptor.digest}`);
  }

  async #expect(
    blob: Digest | Pick<Descriptor, "digest" | "size">,
  ): Promise<{ digest: Digest; size: number; stored: number }> {
    const digest = typeof blob === "string" ? blob : blob.digest;
    const stored = await this.#files.size(blobRelativePath(digest));
    if (stored === undefined) {
      throw new UserError(`${this.location}: OCI layout is missing blob ${digest}`, {
        hint: "the layout is incomplete; re-create it from its source",
      });
    }
    return { digest, size: typeof blob === "string" ? stored : blob.size, stored };
  }
}

export function openOciLayout(
  location: string,
  options: { noFollow?: boolean } = {},
): Promise<OciLayoutReader> {
  return OciLayoutReader.open(location, options);
}

async function checkLayoutFile(files: FileAccess, location: string): Promise<void> {
  let doc: { imageLayoutVersion?: unknown };
  try {
    doc = JSON.parse((await files.read(layoutFileName)).toString("utf8"));
  } catch {
    throw new UserError(`${location} is not an OCI image layout (no readable ${layoutFileName} file)`, {
      hint: "give the path of an OCI image layout directory or of a tar archive of one",
    });
  }
  const version = doc?.imageLayoutVersion;
  if (typeof version !== "string" || version.split(".")[0] !== imageLayoutVersion.split(".")[0]) {
    throw new UserError(`${location}: unsupported OCI layout version ${JSON.stringify(version)}`, {
      hint: `polyarch reads image layout version ${imageLayoutVersion}`,
    });
  }
}

function directoryAccess(root: string): FileAccess {
  return {
    async size(path) {
      try {
        const s = await stat(join(root, path));
        return s.isFile() ? s.size : undefined;
      } catch {
        return undefined;
      }
    },
    stream: (path) => createReadStream(join(root, path)),
    read: (path) => readFile(join(root, path)),
  };
}

const noFollowRead = constants.O_RDONLY | constants.O_NOFOLLOW;

/**
 * A directory read without following links: every folder on the way to a file (`blobs`, `blobs/sha256`)
 * must be a real directory, and the file is opened with O_NOFOLLOW, so a link fails as a missing file.
 */
function noFollowDirectoryAccess(root: string): FileAccess {
  const realFolders = async (path: string) => {
    const parts = path.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const s = await lstat(join(root, ...parts.slice(0, i)));
      if (!s.isDirectory()) return false;
    }
    return true;
  };
  return {
    async size(path) {
      try {
        if (!(await realFolders(path))) return undefined;
        const s = await lstat(join(root, path));
        return s.isFile() ? s.size : undefined;
      } catch {
        return undefined;
      }
    },
    // fs.open takes numeric flags (O_NOFOLLOW has no string form); the stream's typings name only strings.
    stream: (path) => createReadStream(join(root, path), { flags: noFollowRead as unknown as string }),
    async read(path) {
      if (!(await realFolders(path))) throw new Error(`${path} is not inside ${root}`);
      const handle = await open(join(root, path), noFollowRead);
      try {
        return await handle.readFile();
      } finally {
        await handle.close();
      }
    },
  };
}

async function tarAccess(file: string): Promise<FileAccess> {
  const handle = await open(file, "r");
  let entries: Map<string, TarEntryLocation>;
  try {
    entries = await indexTar(handle, file);
  } finally {
    await handle.close();
  }
  const locate = (path: string) => {
    const e = entries.get(path);
    if (!e) throw new UserError(`${file}: archive has no ${path}`);
    return e;
  };
  return {
    size: async (path) => entries.get(path)?.size,
    stream(path) {
      const { offset, size } = locate(path);
      // createReadStream's `end` is inclusive, so an empty blob cannot be expressed as a range.
      if (size === 0) return Readable.from([]);
      return createReadStream(file, { start: offset, end: offset + size - 1 });
    },
    async read(path) {
      const { offset, size } = locate(path);
      const h = await open(file, "r");
      try {
        const buf = Buffer.alloc(size);
        let done = 0;
        while (done < size) {
          const { bytesRead } = await h.read(buf, done, size - done, offset + done);
          if (bytesRead === 0) throw new UserError(`${file}: archive is truncated inside ${path}`);
          done += bytesRead;
        }
        return buf;
      } finally {
        await h.close();
      }
    },
  };
}
