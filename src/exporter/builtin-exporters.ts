/**
 * The output kinds polyarch ships, each registered as any other exporter would be. Each loads its module
 * only when it exports: a build that writes an OCI tar never loads the HTTP client.
 */
import { type Assembly, assemblyOptions } from "./assemble.ts";
import { type Exporter, type ExportSession, registerExporter } from "./exporter.ts";
import type { ImageOutput, LayoutOutput, LoadOutput, RootfsOutput } from "./output-spec.ts";

/**
 * An exporter that writes the assembled image: the assembly is fixed at resolve time from the output's
 * attributes, then `write` gets the assembled image and reports the names it wrote.
 */
function assembledImageExporter<O extends ImageOutput | LayoutOutput | LoadOutput>(
  types: readonly O["type"][],
  /** Whether the output carries the build's attestations (asked for, and the default provenance). */
  attests: (output: O) => { asked: boolean; implicit: boolean },
  write: (
    output: O,
    assembled: Assembly,
    session: ExportSession,
    epoch: number | undefined,
  ) => Promise<{ names: string[] }>,
): Exporter<O> {
  return {
    types,
    reads: "image",
    resolve(output, options) {
      const a = attests(output);
      const attest =
        options.attestations !== undefined && (options.attestations.implicit ? a.implicit : a.asked);
      const assembly = assemblyOptions(output.image, options.sourceDateEpoch, options.forceIndex, attest);
      return {
        async export(session) {
          const assembled = await session.assembled(assembly);
          const result = await write(output, assembled, session, assembly.epoch);
          return { result, image: { assembly: assembled, names: result.names } };
        },
      };
    },
  };
}

/** type=image / type=registry / -t … --push: named in the store, pushed when asked. */
const imageExporter = assembledImageExporter<ImageOutput>(
  ["image"],
  () => ({ asked: true, implicit: true }),
  async (output, assembled, session) => {
    const { exportImage } = await import("./outputs/image-output.ts");
    return exportImage(output, assembled, {
      store: session.store,
      registry: session.registry,
      progress: session.progress,
    });
  },
);

/** type=oci and type=docker: an image layout or archive. */
const layoutExporter = assembledImageExporter<LayoutOutput>(
  ["oci", "docker"],
  // A docker archive holds one image for `docker load`: no index, so no attestation manifests.
  (output) => ({ asked: output.type === "oci", implicit: false }),
  async (output, assembled, session, epoch) => {
    const { exportLayout } = await import("./outputs/layout-output.ts");
    return exportLayout(output, assembled, {
      store: session.store,
      stdout: session.stdout,
      now: session.now,
      progress: session.progress,
      ...(epoch !== undefined ? { epoch } : {}),
    });
  },
);

/** --load and type=docker without dest: the image loaded into a Docker or podman daemon. */
const loadExporter = assembledImageExporter<LoadOutput>(
  ["load"],
  () => ({ asked: false, implicit: false }),
  async (output, assembled, session, epoch) => {
    const { exportLoad } = await import("./outputs/load-output.ts");
    return exportLoad(output, assembled, {
      store: session.store,
      now: session.now,
      progress: session.progress,
      ...(epoch !== undefined ? { epoch } : {}),
    });
  },
);

/** type=local and type=tar: the result's files, in a directory or as one tar. */
const rootfsExporter: Exporter<RootfsOutput> = {
  types: ["local", "tar"],
  reads: "tree",
  resolve(output, options) {
    // Only asked-for attestations: the default min provenance is for images (buildx's inline-only).
    const attest = options.attestations !== undefined && !options.attestations.implicit;
    return {
      async export(session) {
        const { exportLocal, exportRootfsTar } = await import("./outputs/rootfs-output.ts");
        const run = output.type === "local" ? exportLocal : exportRootfsTar;
        const statements = attest ? session.attestations?.platforms : undefined;
        return { result: await run(output, session.images, session.rootfs(), statements) };
      },
    };
  },
};

let done = false;

/** Registers the built-in exporters (once). */
export function registerBuiltinExporters(): void {
  if (done) return;
  done = true;
  registerExporter(imageExporter);
  registerExporter(layoutExporter);
  registerExporter(loadExporter);
  registerExporter(rootfsExporter);
}
