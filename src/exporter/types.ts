/**
 * The exporter's contract with the solver: what a build hands over (one BuiltImage per platform, whose
 * layer blobs are already in the content store) and what comes back (the root descriptor and buildx-style
 * metadata). Everything here is plain data except the injected functions, so the exporter needs nothing
 * from worker/ (layers go down, never up).
 */
import type { Readable, Writable } from "node:stream";
import type { Attestation, AttestationStyle } from "../attest/index.ts";
import type { ContentStore } from "../content/index.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import type { Digest } from "../oci/digest.ts";
import type { ImageConfig } from "../oci/image-config.ts";
import type { Platform } from "../oci/platform.ts";
import type { RegistryClients } from "../registry/registry-clients.ts";
import type { OutputSpec } from "./output-spec.ts";

export type { OutputSpec } from "./output-spec.ts";

/** A layer whose blob is already in the store. */
export interface BuiltLayer {
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffId: Digest;
}

/** The result's files as one read-only tree, to be released when read (a view of the worker's snapshots). */
export interface ResultTree {
  root: string;
  release(): Promise<void>;
}

export interface BuiltImage {
  platform: Platform;
  /**
   * The result's files, when the solve made them available (the solver's Ref): type=local and type=tar
   * read them instead of unpacking the layer blobs again.
   */
  tree?: () => Promise<ResultTree>;
  /** From the planner: config, history (BuildKit created_by), rootfs.diff_ids holding only the base image's layers. */
  config: ImageConfig;
  /** The base image's layers (already in the store; their diff_ids are the first config.rootfs.diff_ids). */
  baseLayers: BuiltLayer[];
  /** New layers in order, one per non-empty history entry after the base image's entries. */
  layers: BuiltLayer[];
  /**
   * How many of config.history's entries are the base image's (they keep their times). When absent, the
   * leading entries that carry a `created` time are taken as the base's: the planner writes new entries
   * without one.
   */
  baseHistoryLength?: number;
}

/** The build's attestations, one list per platform (in the images' order). */
export interface ExportAttestations {
  style: AttestationStyle;
  /**
   * Only the default min provenance, which nobody asked for: it goes to image outputs (registry, store)
   * only, as buildx's `inline-only`; asked-for attestations go to OCI layouts too.
   */
  implicit: boolean;
  platforms: Attestation[][];
}

export interface ProgressEvent {
  id: string;
  name: string;
  status: "start" | "done";
  detail?: string;
}

export interface ExportRequest {
  /** One per platform, in --platform order. */
  images: BuiltImage[];
  /** Parsed -o / -t --push (see parseOutputs). */
  outputs: OutputSpec[];
  store: ContentStore;
  /** For type=image/registry pushes; when absent a default client (Docker's config, loopback HTTP) is made. */
  registry?: RegistryClients;
  /** SOURCE_DATE_EPOCH in seconds (env or build arg); an output's source-date-epoch= overrides it. */
  sourceDateEpoch?: number;
  /** Unpacks one layer blob (any compression) into a directory; for type=local and type=tar (injected by the solver). */
  unpackLayer?: (blob: Readable, dir: string) => Promise<void>;
  onProgress?: (event: ProgressEvent) => void;
  /** Make an index even for one platform (BUILDKIT_MULTI_PLATFORM=1). */
  multiPlatform?: boolean;
  /** Where `dest=-` writes; default process.stdout. */
  stdout?: Writable;
  /** Scratch space for type=tar's rootfs; default `<state dir>/tmp` (beside the store). */
  tempDir?: string;
  /** In-toto statements to store with the image outputs (provenance, SBOM). */
  attestations?: ExportAttestations;
  /** The time new history entries get when there is no SOURCE_DATE_EPOCH (tests pin it); default now. */
  now?: Date;
}

export interface ExportResult {
  /** The root descriptor: the index for several platforms (or one platform when multi-platform is forced), the manifest for one. */
  descriptor: Descriptor;
  /**
   * buildx's --metadata-file keys (containerimage.digest, containerimage.descriptor, image.name,
   * containerimage.config.digest) and, under `polyarch.outputs`, what each output did.
   */
  metadata: Record<string, unknown>;
}
