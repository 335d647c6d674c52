/**
 * exportImages: assembles the image once per distinct set of image options (media types, compression,
 * annotations, timestamps), then runs every output in the order given. The first image-producing output
 * decides the result's descriptor and buildx metadata; with none (only local/tar outputs) the default
 * assembly (OCI types) is made anyway, so callers always get the image's digest.
 */
import { dirname, join } from "node:path";
import { UserError } from "../errors/user-error.ts";
import { canonicalJson } from "../oci/canonical-json.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { type Assembly, type AssemblyOptions, assemble, assemblyOptions } from "./assemble.ts";
import type { ImageOptions, OutputSpec, RootfsOutput } from "./output-spec.ts";
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
      assembly = assemble(req.images, options, { store: req.store, now, progress });
      assemblies.set(key, assembly);
    }
    return assembly;
  };

  // Every output's options are checked before anything is written or pushed.
  const plans = req.outputs.map((output) =>
    isRootfs(output) ? undefined : assemblyOptions(output.image, req.sourceDateEpoch, forceIndex),
  );
  const stdout = req.stdout ?? process.stdout;
  const rootfs = (): RootfsContext => {
    const ctx: RootfsContext = {
      store: req.store,
      unpackLayer: req.unpackLayer!,
      stdout,
      tempDir: req.tempDir ?? join(dirname(req.store.root), "tmp"),
      progress,
    };
    if (req.sourceDateEpoch !== undefined) ctx.epoch = req.sourceDateEpoch;
    return ctx;
  };
  checkStdout(req);
  if (req.outputs.some(isRootfs) && !req.unpackLayer) {
    throw new Error("exporter: type=local and type=tar need an unpackLayer function");
  }

  const results: unknown[] = [];
  let first: { descriptor: Descriptor; assembly: Assembly; names: string[] } | undefined;
  for (const [i, output] of req.outputs.entries()) {
    if (isRootfs(output)) {
      const { exportLocal, exportRootfsTar } = await import("./outputs/rootfs-output.ts");
      const run = output.type === "local" ? exportLocal : exportRootfsTar;
      results.push(await run(output, req.images, rootfs()));
      continue;
    }
    const options = plans[i]!;
    const assembly = await assembled(options);
    if (output.type === "image") {
      // Each output kind is loaded on use: a build that writes an OCI tar never loads the HTTP client.
      const { exportImage } = await import("./outputs/image-output.ts");
      const r = await exportImage(output, assembly.root, {
        store: req.store,
        registry: req.registry,
        progress,
      });
      results.push(r);
      first ??= { descriptor: assembly.root, assembly, names: r.names };
    } else if (output.type === "load") {
      const { exportLoad } = await import("./outputs/load-output.ts");
      const r = await exportLoad(output, assembly, {
        store: req.store,
        now,
        progress,
        ...(options.epoch !== undefined ? { epoch: options.epoch } : {}),
      });
      results.push(r);
      first ??= { descriptor: assembly.root, assembly, names: r.names };
    } else {
      const ctx = {
        store: req.store,
        stdout,
        now,
        progress,
        ...(options.epoch !== undefined ? { epoch: options.epoch } : {}),
      };
      const { exportLayout } = await import("./outputs/layout-output.ts");
      const r = await exportLayout(output, assembly, ctx);
      results.push(r);
      first ??= { descriptor: assembly.root, assembly, names: r.names };
    }
  }
  if (!first) {
    const assembly = await assembled(assemblyOptions(defaultImageOptions, req.sourceDateEpoch, forceIndex));
    first = { descriptor: assembly.root, assembly, names: [] };
  }
  return { descriptor: first.descriptor, metadata: metadataOf(first, results) };
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
  if (first.assembly.images.length === 1 && !first.assembly.index) {
    metadata["containerimage.config.digest"] = first.assembly.images[0]!.config.digest;
  }
  if (first.names.length) metadata["image.name"] = first.names.join(",");
  metadata["polyarch.outputs"] = outputs;
  return metadata;
}

function isRootfs(output: OutputSpec): output is RootfsOutput {
  return output.type === "local" || output.type === "tar";
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
