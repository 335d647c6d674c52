/** What one `-o` (or `-t … --push`) asks for, after parsing and checking (see parse-outputs.ts). */
import type { LayerCompression } from "../oci/media-types.ts";
import type { Platform } from "../oci/platform.ts";

/** Where an annotation goes, as BuildKit names the four places. */
export type AnnotationTarget = "manifest" | "manifest-descriptor" | "index" | "index-descriptor";

export interface AnnotationSpec {
  target: AnnotationTarget;
  /** Only for this platform's manifest (`annotation-manifest[linux/arm64].KEY=VAL`). */
  platform?: Platform;
  key: string;
  value: string;
}

/** What decides the bytes of the image (config, manifests, index): shared by image, oci and docker outputs. */
export interface ImageOptions {
  /** Image names as given (`reg/app:1`), from name= or -t. */
  names: string[];
  /** OCI media types (true) or Docker's (false). */
  ociMediaTypes: boolean;
  /** True when oci-mediatypes was written by the user (then zstd with false is an error, not a switch). */
  ociMediaTypesExplicit: boolean;
  /** Recompress layers to this; undefined keeps what the build produced. */
  compression?: LayerCompression;
  compressionLevel?: number;
  /** Apply `compression` to the base image's layers too. */
  forceCompression: boolean;
  /** Clamp file times in new layers to SOURCE_DATE_EPOCH. */
  rewriteTimestamp: boolean;
  /** source-date-epoch= of this output, overriding the build's. */
  sourceDateEpoch?: number;
  annotations: AnnotationSpec[];
  /** Also name the image `name@digest` (store refs, metadata). */
  nameCanonical: boolean;
}

export interface ImageOutput {
  type: "image";
  image: ImageOptions;
  push: boolean;
  /** Push without a tag (by digest only). */
  pushByDigest: boolean;
  /** Allow plain HTTP / unverified TLS to the names' registries. */
  insecure: boolean;
  /** Keep the image in polyarch's store under its names (default true). */
  store: boolean;
  /** With no name: name the stored image `<prefix>@<digest>`. */
  danglingPrefix?: string;
}

export interface LayoutOutput {
  type: "oci" | "docker";
  image: ImageOptions;
  /** A file path, or "-" for standard output. */
  dest: string;
  /** false writes an OCI layout directory (type=oci only). */
  tar: boolean;
}

export interface RootfsOutput {
  type: "local" | "tar";
  /** A directory (local), a file or "-" (tar). */
  dest: string;
  /** With several platforms, one subdirectory per platform (`linux_arm64`); false merges them. */
  platformSplit: boolean;
}

/** `--load` / `-o type=docker` without dest: into a Docker (or podman) daemon's image store. */
export interface LoadOutput {
  type: "load";
  image: ImageOptions;
  /** `--load` falls back to podman when no Docker daemon answers; `-o type=docker` means Docker only. */
  allowPodman: boolean;
}

export type OutputSpec = ImageOutput | LayoutOutput | RootfsOutput | LoadOutput;
