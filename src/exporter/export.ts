/**
 * exportImages: resolves every output with its registered exporter (exporter.ts), then runs them in the
 * order given; the image is assembled once per distinct set of image options (media types, compression,
 * annotations, timestamps). The first image-producing output
 * decides the result's descriptor and buildx metadata; with none (only local/tar outputs) the default
 * assembly (OCI types) is made anyway, so callers always get the image's digest.
 */
import { dirname, join } from "node:path";
import { UserError } from "../errors/user-error.ts";
import { canonicalJson } from "../oci/canonical-json.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { type Assembly, type AssemblyOptions, assemble, assemblyOptions } from "./assemble.ts";
import { registerBuiltinExporters } from "./builtin-exporters.ts";
import { type ExportSession, exporterFor } from "./exporter.ts";
import type { ImageOptions, OutputSpec } from "./output-spec.ts";
import type { RootfsContext } from "./outputs/rootfs-output.ts";
import type { ExportRequest, ExportResult } from "./types.ts";

const defaultImageOptions: ImageOptions = {
  names: [],
  ociMediaTypes: true,
  ociMediaTypesExplicit: false,
  forceCompression: false,
  rewriteTimestamp: false,
  annotations: [],
  nameCanonical: false,
};

export async function exportImages(req: ExportRequest): Promise<ExportResult> {
  registerBuiltinExporters();
  const now = req.now ?? new Date();
  let counter = 0;
  const progress = (name: string) => {
    const id = `export-${++counter}`;
    req.onProgress?.({ id, name, status: "start" });
    return (detail?: string) =>
      req.onProgress?.(
        detail === undefined ? { id, name, status: "done" } : { id, name, status: "done", detail },
      );
  };
  const forceIndex = req.multiPlatform === true;
  const assemblies = new Map<string, Promise<Assembly>>();
  const assembled = (options: AssemblyOptions): Promise<Assembly> => {
    const key = canonicalJson(options);
    let assembly = assemblies.get(key);
    if (!assembly) {
      assembly = assemble(req.images, options, {
        store: req.store,
        now,
        progress,
        ...(req.attestations ? { attestations: req.attestations } : {}),
      });
      assemblies.set(key, assembly);
    }
    return assembly;
  };

  // Every output's options are checked before anything is written or pushed.
  const resolved = req.outputs.map((output) =>
    exporterFor(output.type).resolve(output, {
      sourceDateEpoch: req.sourceDateEpoch,
      forceIndex,
      attestations: hasAttestations(req) ? { implicit: req.attestations!.implicit } : undefined,
    }),
  );
  const stdout = req.stdout ?? process.stdout;
  checkStdout(req);
  const readsTrees = outputsReadTrees(req.outputs);
  if (readsTrees && !req.unpackLayer) {
    throw new Error("exporter: type=local and type=tar need an unpackLayer function");
  }
  const session: ExportSession = {
    images: req.images,
    store: req.store,
    registry: req.registry,
    stdout,
    now,
    assembled,
    progress,
    attestations: req.attestations,
    rootfs: () => {
      const ctx: RootfsContext = {
        store: req.store,
        unpackLayer: req.unpackLayer!,
        stdout,
        tempDir: req.tempDir ?? join(dirname(req.store.root), "tmp"),
        progress,
      };
      if (req.sourceDateEpoch !== undefined) ctx.epoch = req.sourceDateEpoch;
      return ctx;
    },
  };

  const results: unknown[] = [];
  let first: { descriptor: Descriptor; assembly: Assembly; names: string[] } | undefined;
  for (const instance of resolved) {
    const outcome = await instance.export(session);
    results.push(outcome.result);
    if (outcome.image && !first) {
      first = { descriptor: outcome.image.assembly.root, ...outcome.image };
    }
  }
  for (const instance of resolved) await instance.finalize?.(session);
  if (!first) {
    const assembly = await assembled(assemblyOptions(defaultImageOptions, req.sourceDateEpoch, forceIndex));
    first = { descriptor: assembly.root, assembly, names: [] };
  }
  return { descriptor: first.descriptor, metadata: metadataOf(first, results) };
}

/** Whether any of the outputs reads the result's files (then the solve must make each platform's tree). */
export function outputsReadTrees(outputs: readonly OutputSpec[]): boolean {
  registerBuiltinExporters();
  return outputs.some((o) => exporterFor(o.type).reads === "tree");
}

function metadataOf(
  first: { descriptor: Descriptor; assembly: Assembly; names: string[] },
  outputs: unknown[],
): Record<string, unknown> {
  const d = first.descriptor;
  const descriptor: Record<string, unknown> = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.annotations) descriptor.annotations = d.annotations;
  const metadata: Record<string, unknown> = {
    "containerimage.digest": d.digest,
    "containerimage.descriptor": descriptor,
  };
  // Only for an image that is one manifest: an index, even one made only to hold the attestations of one
  // platform, has no config digest of its own (BuildKit v0.24 writes none then; buildx's image id is the
  // index digest).
  if (first.assembly.images.length === 1 && !first.assembly.index) {
    metadata["containerimage.config.digest"] = first.assembly.images[0]!.config.digest;
  }
  if (first.names.length) metadata["image.name"] = first.names.join(",");
  metadata["polyarch.outputs"] = outputs;
  return metadata;
}

function hasAttestations(req: ExportRequest): boolean {
  return req.attestations?.platforms.some((p) => p.length > 0) === true;
}

/** Two outputs cannot both stream to standard output. */
function checkStdout(req: ExportRequest): void {
  const toStdout = req.outputs.filter(
    (o) => o.type !== "image" && o.type !== "load" && o.type !== "local" && o.dest === "-",
  );
  if (toStdout.length > 1) {
    throw new UserError("more than one output writes to standard output (dest=-)", {
      hint: "give all but one of them a file: dest=FILE",
    });
  }
}
