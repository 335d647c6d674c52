/**
 * Exporters registered by output type (BuildKit's Exporter: Resolve → Export → finalize). An output kind is
 * added by registering one, never by editing a dispatch over a closed set of kinds: the image exporter,
 * the layout exporters and the rootfs exporters are registered the same way (builtin-exporters.ts), and a
 * cache exporter, inline cache or a local image store would be too.
 *
 * - `resolve` checks the output's attributes before anything is written or pushed (every output of a
 *   build is resolved before the first one exports), and says what the export reads of the result.
 * - `export` writes the build result; it returns what it did (for `polyarch.outputs` in the metadata) and,
 *   for outputs that are an image, which image (the first decides the build's descriptor).
 * - `finalize`, when given, runs once every output has exported (e.g. to name or push a result last).
 */
import type { Writable } from "node:stream";
import type { ContentStore } from "../content/index.ts";
import type { RegistryClients } from "../registry/registry-clients.ts";
import type { Assembly, AssemblyOptions } from "./assemble.ts";
import type { OutputSpec } from "./output-spec.ts";
import type { RootfsContext } from "./outputs/rootfs-output.ts";
import type { BuiltImage, ExportAttestations } from "./types.ts";

/** What every exporter of one build is given. */
export interface ExportSession {
  /** One per platform, in --platform order: layers in the store, and the result's files when solved for. */
  images: readonly BuiltImage[];
  store: ContentStore;
  registry: RegistryClients | undefined;
  stdout: Writable;
  now: Date;
  /** The image for these options, assembled once per distinct set of options. */
  assembled(options: AssemblyOptions): Promise<Assembly>;
  /** The build's attestations (each exporter decides whether it writes them). */
  attestations: ExportAttestations | undefined;
  /** What the rootfs exporters need (scratch space, the no-follow applier). */
  rootfs(): RootfsContext;
  /** Starts a progress step; the returned function ends it. */
  progress(name: string): (detail?: string) => void;
}

/** What an export did: `result` goes to the metadata; `image`, for an image output, is what it wrote. */
export interface ExportOutcome {
  result: unknown;
  image?: { assembly: Assembly; names: string[] };
}

export interface ExporterInstance {
  export(session: ExportSession): Promise<ExportOutcome>;
  finalize?(session: ExportSession): Promise<void>;
}

export interface ResolveOptions {
  /** SOURCE_DATE_EPOCH of the build (an output's own source-date-epoch= overrides it). */
  sourceDateEpoch: number | undefined;
  /** Make an index even for one platform. */
  forceIndex: boolean;
  /** The build has attestations; `implicit` when they are only the default min provenance. */
  attestations: { implicit: boolean } | undefined;
}

export interface Exporter<O extends OutputSpec = OutputSpec> {
  /** The output types (`-o type=…`) this exporter writes. */
  readonly types: readonly O["type"][];
  /**
   * What it reads of the build result: "image" (layer blobs, assembled into manifests), or "tree" (the
   * result's files: the solver is then asked for each platform's tree).
   */
  readonly reads: "image" | "tree";
  /** Checks the output's attributes (a UserError when they cannot work) and makes the export. */
  resolve(output: O, options: ResolveOptions): ExporterInstance;
}

const registered = new Map<string, Exporter>();

/** Adds an exporter for its types; registering a type twice is a programming error. */
export function registerExporter<O extends OutputSpec>(exporter: Exporter<O>): void {
  for (const type of exporter.types) {
    if (registered.has(type)) throw new Error(`exporter: type=${type} is registered twice`);
    registered.set(type, exporter as unknown as Exporter);
  }
}

export function exporterFor(type: string): Exporter {
  const exporter = registered.get(type);
  if (!exporter) throw new Error(`exporter: no exporter is registered for type=${type}`);
  return exporter;
}
