/**
 * type=oci (an OCI image layout, as a tar or a directory) and type=docker (the same tar plus the
 * manifest.json that `docker load` reads, as BuildKit's docker exporter writes it through containerd's
 * archive writer). Blobs are streamed from the store, verified, never buffered.
 */

import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BlobProvider } from "../../content/index.ts";
import { UserError } from "../../errors/user-error.ts";
import { writeOutputFile } from "../../fsutil/output-file.ts";
import type { Descriptor } from "../../oci/descriptor.ts";
import { blobRelativePath, OciLayoutWriter } from "../../oci/layout/index.ts";
import { formatPlatform } from "../../oci/platform.ts";
import { formatReference, parseReference } from "../../registry/reference.ts";
import type { Assembly } from "../assemble.ts";
import type { LayoutOutput } from "../output-spec.ts";
import { epochDate, formatCreated } from "../timestamps.ts";

export interface LayoutOutputContext {
  store: BlobProvider;
  stdout: Writable;
  /** SOURCE_DATE_EPOCH of this output, for the index.json entry's created annotation. */
  epoch?: number;
  now: Date;
  progress: (name: string) => (detail?: string) => void;
}

export interface LayoutOutputResult {
  type: "oci" | "docker";
  dest: string;
  tar: boolean;
  names: string[];
}

const createdAnnotation = "org.opencontainers.image.created";

export async function exportLayout(
  output: LayoutOutput,
  assembly: Assembly,
  ctx: LayoutOutputContext,
): Promise<LayoutOutputResult> {
  if (output.type === "docker" && assembly.index) {
    throw new UserError(
      `-o type=docker holds one image, and this build has ${assembly.images.length} platforms (${assembly.images.map((i) => formatPlatform(i.platform)).join(", ")})`,
      {
        hint: "use -o type=oci,dest=out.tar for a multi-platform archive, or build one --platform for docker",
      },
    );
  }
  const names = output.image.names.map((n) => formatReference(parseReference(n)));
  const created = formatCreated(ctx.epoch === undefined ? ctx.now : epochDate(ctx.epoch));
  const { writer, extraFiles } = layoutArchive(output.type, assembly, names, created, ctx.store);
  const done = ctx.progress(output.tar ? "sending tarball" : `writing OCI layout ${output.dest}`);
  if (!output.tar) await writer.writeDirectory(output.dest);
  else if (output.dest === "-") await pipeline(writer.tarStream({ extraFiles }), ctx.stdout, { end: false });
  else await writeOutputFile(output.dest, writer.tarStream({ extraFiles }));
  done();
  return { type: output.type, dest: output.dest, tar: output.tar, names };
}

/**
 * The layout of one assembly (every blob, an index.json entry per name) and, for a docker archive, the
 * manifest.json `docker load` reads. Shared by the file outputs and the daemon load (load-output.ts).
 */
export function layoutArchive(
  kind: "oci" | "docker",
  assembly: Assembly,
  names: readonly string[],
  created: string,
  store: BlobProvider,
): { writer: OciLayoutWriter; extraFiles: { name: string; bytes: Uint8Array }[] } {
  const writer = new OciLayoutWriter();
  // Read through the store, which re-verifies each blob as it streams: one changed on disk since it was
  // stored fails the export before the layout or archive is in place, never ships under its old digest.
  const add = (d: Descriptor) => writer.addBlob(d, () => store.readStream(d.digest));
  for (const image of assembly.images) {
    add(image.config);
    for (const layer of image.layers) add(layer);
    add(image.manifest);
  }
  for (const att of assembly.attestations) {
    add(att.config);
    for (const layer of att.layers) add(layer);
    add(att.manifest);
  }
  if (assembly.index) add(assembly.index);
  const entry: Descriptor = {
    ...assembly.root,
    annotations: { ...assembly.root.annotations, [createdAnnotation]: created },
  };
  if (names.length === 0) writer.addIndexEntry(entry);
  for (const name of names) writer.addIndexEntry(entry, { imageName: name });
  // Referrers live beside the image in index.json, untagged, where the image-layout spec keeps them.
  for (const att of assembly.attestations) if (att.style === "referrers") writer.addIndexEntry(att.manifest);
  return { writer, extraFiles: kind === "docker" ? [dockerManifestJson(assembly, names)] : [] };
}

/** manifest.json of a docker archive: config and layer paths inside the tar, and the tags in Docker's short form. */
function dockerManifestJson(
  assembly: Assembly,
  names: readonly string[],
): { name: string; bytes: Uint8Array } {
  const image = assembly.images[0]!;
  const repoTags = names.flatMap((n) => {
    const ref = parseReference(n);
    return ref.tag ? [`${familiarName(ref.registry, ref.repository)}:${ref.tag}`] : [];
  });
  const doc = [
    {
      Config: blobRelativePath(image.config.digest),
      RepoTags: repoTags,
      Layers: image.layers.map((l) => blobRelativePath(l.digest)),
    },
  ];
  return { name: "manifest.json", bytes: Buffer.from(JSON.stringify(doc), "utf8") };
}

/** `docker.io/library/app` → `app`, `docker.io/me/app` → `me/app`, others unchanged (Docker's familiar names). */
function familiarName(registry: string, repository: string): string {
  if (registry !== "docker.io") return `${registry}/${repository}`;
  return repository.startsWith("library/") && repository.split("/").length === 2
    ? repository.slice("library/".length)
    : repository;
}
