/**
 * The output kinds polyarch ships, each registered as any other exporter would be. Each loads its module
 * only when it exports: a build that writes an OCI tar never loads the HTTP client.
 */
import { assemblyOptions } from "./assemble.ts";
import { type Exporter, registerExporter } from "./exporter.ts";
import type { ImageOutput, LayoutOutput, LoadOutput, RootfsOutput } from "./output-spec.ts";

/** type=image / type=registry / -t … --push: named in the store, pushed when asked. */
const imageExporter: Exporter<ImageOutput> = {
  types: ["image"],
  reads: "image",
  resolve(output, options) {
    const assembly = assemblyOptions(output.image, options.sourceDateEpoch, options.forceIndex);
    return {
      assembly,
      async export(session) {
        const assembled = await session.assembled(assembly);
        const { exportImage } = await import("./outputs/image-output.ts");
        const result = await exportImage(output, assembled.root, {
          store: session.store,
          registry: session.registry,
          progress: session.progress,
        });
        return { result, image: { assembly: assembled, names: result.names } };
      },
    };
  },
};

/** type=oci and type=docker: an image layout or archive. */
const layoutExporter: Exporter<LayoutOutput> = {
  types: ["oci", "docker"],
  reads: "image",
  resolve(output, options) {
    const assembly = assemblyOptions(output.image, options.sourceDateEpoch, options.forceIndex);
    return {
      assembly,
      async export(session) {
        const assembled = await session.assembled(assembly);
        const { exportLayout } = await import("./outputs/layout-output.ts");
        const result = await exportLayout(output, assembled, {
          store: session.store,
          stdout: session.stdout,
          now: session.now,
          progress: session.progress,
          ...(assembly.epoch !== undefined ? { epoch: assembly.epoch } : {}),
        });
        return { result, image: { assembly: assembled, names: result.names } };
      },
    };
  },
};

/** --load and type=docker without dest: the image loaded into a Docker or podman daemon. */
const loadExporter: Exporter<LoadOutput> = {
  types: ["load"],
  reads: "image",
  resolve(output, options) {
    const assembly = assemblyOptions(output.image, options.sourceDateEpoch, options.forceIndex);
    return {
      assembly,
      async export(session) {
        const assembled = await session.assembled(assembly);
        const { exportLoad } = await import("./outputs/load-output.ts");
        const result = await exportLoad(output, assembled, {
          store: session.store,
          now: session.now,
          progress: session.progress,
          ...(assembly.epoch !== undefined ? { epoch: assembly.epoch } : {}),
        });
        return { result, image: { assembly: assembled, names: result.names } };
      },
    };
  },
};

/** type=local and type=tar: the result's files, in a directory or as one tar. */
const rootfsExporter: Exporter<RootfsOutput> = {
  types: ["local", "tar"],
  reads: "tree",
  resolve(output) {
    return {
      async export(session) {
        const { exportLocal, exportRootfsTar } = await import("./outputs/rootfs-output.ts");
        const run = output.type === "local" ? exportLocal : exportRootfsTar;
        return { result: await run(output, session.images, session.rootfs()) };
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
