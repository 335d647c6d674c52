import type { BlobIngester, BlobProvider } from "../content/types.ts";
import { UserError } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { isDigest } from "../oci/digest.ts";
import { configPlatform, parseImageConfig } from "../oci/image-config.ts";
import { readTar } from "../oci/layer/tar-reader.ts";
import { parseAnyManifest } from "../oci/manifest.ts";

/** What a BuildKit OCI export brought into the content store. */
export interface OciResult {
  /** index.json's top-level entry (the image index for several platforms, or the one manifest). */
  root: Descriptor;
  /** The per-platform image manifests, each with its platform (attestation manifests left out). */
  images: Descriptor[];
}

const maxIndexBytes = 4 << 20;

/**
 * Streams the daemon's OCI archive into the store: each `blobs/<alg>/<hex>` entry is verified against its
 * name as it is written (a wrong byte stores nothing), and index.json is read in memory. The archive comes
 * from a remote daemon, so anything else (a path outside blobs/, a link) is refused.
 */
export async function ingestOciArchive(
  data: AsyncIterable<Uint8Array>,
  store: BlobIngester,
  where: string,
): Promise<Descriptor[]> {
  let index: Descriptor[] | undefined;
  for await (const entry of readTar(data)) {
    const name = entry.name.replace(/^\.\//, "");
    if (entry.type === "dir" && (name === "blobs/" || /^blobs\/[a-z0-9]+\/?$/.test(name))) continue;
    if (entry.type !== "file")
      throw new UserError(`${where}: the OCI archive has a ${entry.type} entry ${JSON.stringify(name)}`);
    if (name === "oci-layout" || name === "manifest.json") continue;
    if (name === "index.json") {
      if (entry.size > maxIndexBytes) throw new UserError(`${where}: index.json is larger than 4 MiB`);
      const chunks: Buffer[] = [];
      for await (const c of entry.body) chunks.push(c);
      const parsed = parseAnyManifest(
        Buffer.concat(chunks),
        "application/vnd.oci.image.index.v1+json",
        where,
      );
      if (parsed.kind !== "index") throw new UserError(`${where}: index.json is not an image index`);
      index = parsed.index.manifests;
      continue;
    }
    const m = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(name);
    const digest = m ? `${m[1]}:${m[2]}` : "";
    if (!m || !isDigest(digest))
      throw new UserError(`${where}: unexpected entry ${JSON.stringify(name)} in the OCI archive`);
    await store.write({ digest, size: entry.size }, entry.body, { where });
  }
  if (!index) throw new UserError(`${where}: the OCI archive has no index.json`);
  return index;
}

/** The per-platform manifests under index.json's entries, each checked present with its config. */
export async function resolveImages(
  entries: readonly Descriptor[],
  store: BlobProvider,
  where: string,
): Promise<OciResult> {
  const root = entries[0];
  if (!root) throw new UserError(`${where}: the OCI archive's index.json is empty`);
  const images: Descriptor[] = [];
  const visit = async (d: Descriptor, depth: number): Promise<void> => {
    if (d.annotations?.["vnd.docker.reference.type"] === "attestation-manifest") return;
    const parsed = parseAnyManifest(await store.readBytes(d.digest), d.mediaType, `${where} ${d.digest}`);
    if (parsed.kind === "index") {
      if (depth > 2) throw new UserError(`${where}: image indexes nested too deep`);
      for (const m of parsed.index.manifests) await visit(m, depth + 1);
      return;
    }
    const config = parseImageConfig(await store.readBytes(parsed.manifest.config.digest), `${where} config`);
    for (const layer of parsed.manifest.layers)
      if (!(await store.has(layer.digest))) throw new UserError(`${where}: layer ${layer.digest} is missing`);
    images.push({ ...d, platform: d.platform ?? configPlatform(config) });
  };
  await visit(root, 0);
  return { root, images };
}
