import type { Readable } from "node:stream";
import type { Descriptor } from "../descriptor.ts";
import { type Digest, digestOf } from "../digest.ts";
import type { ImageIndex } from "../manifest.ts";
import { MediaType } from "../media-types.ts";
import { type LayoutBlobInput, sortedBlobs } from "./blob-input.ts";
import type { LayoutBlobOpener } from "./blob-source.ts";
import { mergeEntries, type WriteDirOptions, writeLayoutDirectory } from "./dir-output.ts";
import { imageNameAnnotation, refNameAnnotation, refNameOf } from "./spec.ts";
import { layoutTarStream, type TarOptions, writeLayoutTar } from "./tar-output.ts";

/** How an index.json entry is named. */
export interface IndexEntryNames {
  /** Full image name (`reg/app:1`), recorded as `io.containerd.image.name` as BuildKit's oci exporter does. */
  imageName?: string;
  /** `org.opencontainers.image.ref.name`; defaults to imageName's tag. This is what `oci:DIR:REF` matches. */
  refName?: string;
}

/**
 * Collects the blobs and index entries of an OCI image layout, then writes it as a directory or a tar.
 * Blobs are only opened while being written, so adding a GB layer costs nothing until then; each source can
 * be read once, so write a writer once (or give sources as functions that open anew).
 */
export class OciLayoutWriter {
  readonly #blobs = new Map<Digest, LayoutBlobInput>();
  #entries: Descriptor[] = [];
  /** Annotations of index.json itself. */
  annotations: Record<string, string> | undefined;

  /** Adds a blob whose bytes will be verified against the descriptor as they are written. */
  addBlob(descriptor: { digest: Digest; size: number; mediaType?: string }, source: LayoutBlobOpener): this {
    if (!this.#blobs.has(descriptor.digest)) this.#blobs.set(descriptor.digest, { descriptor, source });
    return this;
  }

  /** Adds a blob from a file already known to hold exactly these bytes (e.g. a content store path). */
  addBlobFile(descriptor: { digest: Digest; size: number; mediaType?: string }, path: string): this {
    if (!this.#blobs.has(descriptor.digest)) this.#blobs.set(descriptor.digest, { descriptor, path });
    return this;
  }

  /** Adds small bytes (a manifest, a config) and returns their descriptor. */
  addBytes(bytes: Uint8Array, mediaType: string): Descriptor {
    const descriptor: Descriptor = { mediaType, digest: digestOf(bytes), size: bytes.byteLength };
    this.addBlob(descriptor, bytes);
    return descriptor;
  }

  /**
   * Lists a manifest or index in index.json. A named entry replaces an earlier entry with the same ref name;
   * its blob must be added too (or already be in the directory being added to).
   */
  addIndexEntry(descriptor: Descriptor, names: IndexEntryNames = {}): this {
    const annotations = { ...descriptor.annotations };
    if (names.imageName !== undefined) annotations[imageNameAnnotation] = names.imageName;
    const refName = names.refName ?? (names.imageName !== undefined ? refNameOf(names.imageName) : undefined);
    if (refName !== undefined) annotations[refNameAnnotation] = refName;
    const entry: Descriptor = { ...descriptor };
    if (Object.keys(annotations).length) entry.annotations = annotations;
    this.#entries = mergeEntries(this.#entries, [entry]);
    return this;
  }

  /** The blobs added so far, sorted by digest. */
  get blobs(): LayoutBlobInput[] {
    return sortedBlobs(this.#blobs.values());
  }

  /** What index.json will hold. */
  buildIndex(): ImageIndex {
    const index: ImageIndex = {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [...this.#entries],
    };
    if (this.annotations && Object.keys(this.annotations).length) index.annotations = { ...this.annotations };
    return index;
  }

  /** Writes (or adds to) a layout directory; see writeLayoutDirectory for the atomicity it gives. */
  writeDirectory(dir: string, options?: WriteDirOptions): Promise<void> {
    return writeLayoutDirectory(dir, this.blobs, this.buildIndex(), options);
  }

  /** The layout as a deterministic tar stream (what `oci-archive:` and `-o type=oci` read). */
  tarStream(options?: TarOptions): Readable {
    return layoutTarStream(this.blobs, this.buildIndex(), options);
  }

  /** Writes the tar to a file atomically (temp file, fsync, rename). */
  writeTar(file: string, options?: TarOptions): Promise<void> {
    return writeLayoutTar(file, this.blobs, this.buildIndex(), options);
  }
}
