/**
 * `--build-context NAME=oci-layout://PATH[:TAG|@DIGEST]`: an image kept in an OCI image layout directory on
 * this machine (what `-o type=oci,tar=false`, skopeo's `oci:DIR:TAG` or buildx write). As with buildx, the
 * layout is read on the client: the entry is chosen from index.json by tag (the first whose
 * `io.containerd.image.name`, then the first whose `org.opencontainers.image.ref.name` is the tag; with
 * none, the only entry) or by digest (an index.json entry, a platform manifest one of them lists, or any
 * manifest blob), and its blobs — the index, each real platform's manifest, config and layers — are copied
 * into the content store, each verified against its digest and size as it streams. From then on the context is an image like
 * `docker-image://REF`: the resolver serves its reference from the store and never asks a registry.
 *
 * The directory is untrusted (it may have been downloaded): blobs are found only by their digest
 * (never a path from the layout), must be regular files (a link is refused, not followed), documents are
 * read into memory only up to a bound, and a blob that does not match its descriptor is an error that
 * names the layout and the digest, never a part of an image.
 */
import type { ContentStore } from "../../content/types.ts";
import type { OciLayoutNamedContext } from "../../dockerfile/context/named-contexts.ts";
import { UserError } from "../../errors/user-error.ts";
import type { Descriptor } from "../../oci/descriptor.ts";
import { type Digest, parseDigest } from "../../oci/digest.ts";
import { type OciLayoutReader, openOciLayout } from "../../oci/layout/reader.ts";
import { imageNameAnnotation, ociLayoutContextRegistry, refNameAnnotation } from "../../oci/layout/spec.ts";
import { parseIndex, parseManifest } from "../../oci/manifest.ts";
import { isIndexMediaType, isManifestMediaType } from "../../oci/media-types.ts";
import { imageEntries } from "../../registry/resolve.ts";

/** Manifests, indexes and configs are small; a bigger one is refused before it is read. */
const maxDocumentBytes = 4 * 1024 * 1024;

/** A layout context once its blobs are in the store: the reference the planner sees, and its root. */
export interface ImportedLayout {
  ref: string;
  root: Descriptor;
}

/** Copies the image a layout context names into the store. */
export async function importOciLayoutContext(
  context: OciLayoutNamedContext,
  store: ContentStore,
): Promise<ImportedLayout> {
  const reader = await openOciLayout(context.path, { noFollow: true });
  if (reader.kind !== "directory") {
    throw new UserError(`--build-context ${context.name}: ${context.path} is not an OCI layout directory`, {
      hint: "unpack the OCI archive into a directory first (tar -x -C DIR -f FILE)",
    });
  }
  const root = await chooseEntry(reader, context);
  const where = `--build-context ${context.name} (${context.path})`;
  if (isIndexMediaType(root.mediaType)) {
    const bytes = await reader.readBytes(root, maxDocumentBytes);
    const index = parseIndex(bytes, `${where} ${root.digest}`);
    const platforms = imageEntries(index.manifests);
    if (platforms.length === 0) {
      throw new UserError(`${where}: the index ${root.digest} lists no platform images`, {
        hint: "name an image's index or manifest (oci-layout://PATH@sha256:…)",
      });
    }
    for (const entry of platforms) {
      if (!isManifestMediaType(entry.mediaType)) {
        throw new UserError(
          `${where}: the index ${root.digest} lists ${entry.digest} as ${entry.mediaType}, not an image manifest`,
          { hint: "a nested index is not read; name the inner index by its digest" },
        );
      }
      await copyImage(reader, store, entry, where);
    }
    await store.write({ digest: root.digest, size: root.size }, bytes);
  } else {
    await copyImage(reader, store, root, where);
  }
  const { mediaType, digest, size } = root;
  return { ref: layoutReference(context.name, digest), root: { mediaType, digest, size } };
}

/**
 * The reference the planner and the solver know the image by. Its registry is under `.invalid` (a name
 * that never resolves), so nothing can reach a network with it; the digest pins it.
 */
export function layoutReference(contextName: string, digest: Digest): string {
  const repository =
    contextName
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "") || "context";
  return `${ociLayoutContextRegistry}/${repository}@${digest}`;
}

async function chooseEntry(reader: OciLayoutReader, context: OciLayoutNamedContext): Promise<Descriptor> {
  const where = `--build-context ${context.name}=oci-layout://${context.path}`;
  const entries = reader.manifests;
  if (context.digest !== undefined) {
    const digest = parseDigest(context.digest, where);
    const listed = entries.find((d) => d.digest === digest);
    if (listed) return listed;
    // A platform's manifest, as `imagetools inspect` shows it, is named through the index that lists it.
    for (const entry of entries) {
      if (!isIndexMediaType(entry.mediaType)) continue;
      const index = parseIndex(await reader.readBytes(entry, maxDocumentBytes), `${where} ${entry.digest}`);
      const child = index.manifests.find((d) => d.digest === digest);
      if (child) return child;
    }
    if (!(await reader.has(digest))) {
      throw new UserError(`${where}: the layout has no blob ${digest}`, {
        hint: `its index.json lists ${entries.map((d) => d.digest).join(", ") || "nothing"}`,
      });
    }
    return describeBlob(reader, digest, where);
  }
  const tag = context.tag ?? "latest";
  // buildx's order: an entry whose full image name is the tag, then one whose ref name is.
  const named =
    entries.find((d) => d.annotations?.[imageNameAnnotation] === tag) ??
    entries.find((d) => d.annotations?.[refNameAnnotation] === tag);
  if (named) return named;
  if (entries.length === 1) return entries[0]!;
  const names = entries.flatMap((d) => d.annotations?.[refNameAnnotation] ?? []);
  throw new UserError(`${where}: the layout has no image tagged ${JSON.stringify(tag)}`, {
    hint: names.length
      ? `its tags: ${names.join(", ")}; or name one by digest (oci-layout://PATH@sha256:…)`
      : "its entries are untagged: name one by digest (oci-layout://PATH@sha256:…)",
  });
}

/** A blob index.json does not list: its media type is the one the document declares. */
async function describeBlob(reader: OciLayoutReader, digest: Digest, where: string): Promise<Descriptor> {
  const size = (await reader.blobSize(digest))!;
  const bytes = await reader.readBytes({ digest, size }, maxDocumentBytes);
  let mediaType: unknown;
  try {
    mediaType = (JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown }).mediaType;
  } catch {
    mediaType = undefined;
  }
  if (typeof mediaType !== "string" || !(isIndexMediaType(mediaType) || isManifestMediaType(mediaType))) {
    throw new UserError(`${where}: blob ${digest} is not an image manifest or index`, {
      hint: "name an image by the digest of its manifest or index",
    });
  }
  return { mediaType, digest, size };
}

async function copyImage(
  reader: OciLayoutReader,
  store: ContentStore,
  descriptor: Descriptor,
  where: string,
): Promise<void> {
  const bytes = await reader.readBytes(descriptor, maxDocumentBytes);
  const manifest = parseManifest(bytes, `${where} ${descriptor.digest}`);
  const configBytes = await reader.readBytes(manifest.config, maxDocumentBytes);
  await store.write({ digest: manifest.config.digest, size: manifest.config.size }, configBytes);
  for (const layer of manifest.layers) {
    if (await store.has(layer.digest)) continue;
    await store.write({ digest: layer.digest, size: layer.size }, await reader.readStream(layer));
  }
  await store.write({ digest: descriptor.digest, size: descriptor.size }, bytes);
}
