import type { BlobIngester, BlobProvider } from "../content/types.ts";
import { UserError } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { isDigest } from "../oci/digest.ts";
import { configPlatform, parseImageConfig } from "../oci/image-config.ts";
import { readTar, type TarEntry } from "../oci/layer/tar-reader.ts";
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
  store: BlobIngester & Pick<BlobProvider, "has">,
  where: string,
): Promise<Descriptor[]> {
  let index: Descriptor[] | undefined;
  // Commits (fsync + rename) run while the next entries stream in; all must succeed before we return.
  const commits: Promise<unknown>[] = [];
  const settle = async () => {
    const results = await Promise.allSettled(commits);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  };
  try {
    for await (const entry of readTar(data)) await ingestEntry(entry);
  } catch (e) {
    await Promise.allSettled(commits);
    throw e;
  }
  await settle();
  if (!index) throw new UserError(`${where}: the OCI archive has no index.json`);
  return index;

  async function ingestEntry(entry: TarEntry): Promise<void> {
    const name = entry.name.replace(/^\.\//, "");
    if (entry.type === "dir" && (name === "blobs/" || /^blobs\/[a-z0-9]+\/?$/.test(name))) return;
    if (entry.type !== "file")
      throw new UserError(`${where}: the OCI archive has a ${entry.type} entry ${JSON.stringify(name)}`);
    if (name === "oci-layout" || name === "manifest.json") return;
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
      return;
    }
    const m = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(name);
    const digest = m ? `${m[1]}:${m[2]}` : "";
    if (!m || !isDigest(digest))
      throw new UserError(`${where}: unexpected entry ${JSON.stringify(name)} in the OCI archive`);
    // A blob we have is skipped unread (the reader discards its bytes).
    if (await store.has(digest)) return;
    const writer = await store.openWriter({ digest, size: entry.size }, { where });
    try {
      for await (const chunk of entry.body) await writer.write(chunk);
    } catch (e) {
      await writer.abort();
      throw e;
    }
    const committed = writer.commit();
    committed.catch(() => {});
    commits.push(committed);
  }
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
