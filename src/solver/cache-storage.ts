/**
 * Where a build cache's blobs and index live (the one format of cache-layout.ts is read and written over
 * this): an OCI layout directory (`type=local`), a registry repository and tag (`type=registry`). The
 * reading side is untrusted: every blob it hands out is verified against the descriptor asked for.
 */
import type { Readable } from "node:stream";
import type { Descriptor } from "../oci/descriptor.ts";
import type { ImageIndex } from "../oci/manifest.ts";

export interface CacheStorage {
  /** For messages: `type=local,src=DIR`, `type=registry,ref=R`. */
  readonly where: string;
  /** The cache's top index; undefined when nothing (or nothing readable as an index) is there yet. */
  readIndex(): Promise<ImageIndex | undefined>;
  /** A small blob (manifest, cache config), verified, refused above `maxBytes`. */
  readBytes(descriptor: Descriptor, maxBytes: number): Promise<Buffer>;
  /** A blob's bytes, verified as they stream (the stream fails before its end when they do not match). */
  openBlob(descriptor: Descriptor): Promise<Readable>;
  /** Whether a blob is there without reading it (remote storages, whose blobs may be left there). */
  hasBlob?(descriptor: Descriptor): Promise<boolean>;
  /** Labels for a blob copied from here into the local store (a registry's distribution source). */
  blobLabels?(): Record<string, string>;
  /**
   * When the place holds an image rather than a cache index (`--cache-from REF` of a pushed image): each
   * platform's manifest layers and config bytes, to read an inline cache from.
   */
  readImages?(): Promise<{ layers: Descriptor[]; config: Buffer }[]>;
  /** Starts writing a new version of the cache. */
  writer(): CacheWriter;
}

/**
 * One write of a cache: blobs, then manifests, then the index, in that order wherever it lands, so the
 * index never names what is not there. Kept manifests (of other platforms, other artifact types) are
 * already stored here; they are named again so a layout's index lists only what it holds.
 */
export interface CacheWriter {
  blob(descriptor: Descriptor, data: Buffer | (() => Promise<Readable>)): void;
  manifest(descriptor: Descriptor, bytes: Buffer, kept: boolean): void;
  commit(index: Descriptor, bytes: Buffer): Promise<void>;
}
