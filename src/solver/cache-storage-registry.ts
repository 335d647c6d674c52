/**
 * `type=registry,ref=R`: the cache as an OCI artifact in a registry repository, its image index tagged R.
 * Any distribution-spec registry takes it (an index of image manifests with a custom artifactType). Blobs
 * are read only when asked for, verified as they stream (registry/remote-blobs.ts), and a write pushes
 * blobs (HEAD first, so unchanged layers cost one request), then manifests by digest, then the tag.
 */
import { PassThrough, pipeline, Readable } from "node:stream";
import { distributionSourceLabelPrefix } from "../content/types.ts";
import { UserError } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { type ImageIndex, parseAnyManifest } from "../oci/manifest.ts";
import { isIndexMediaType, isManifestMediaType } from "../oci/media-types.ts";
import { type ImageReference, parseReference } from "../registry/reference.ts";
import type { RegistryClients } from "../registry/registry-clients.ts";
import { RegistryBlobProvider } from "../registry/remote-blobs.ts";
import { imageEntries } from "../registry/resolve.ts";
import type { CacheStorage, CacheWriter } from "./cache-storage.ts";

const maxImages = 64;
const maxManifestBytes = 4 * 1024 * 1024;
const maxConfigBytes = 64 * 1024 * 1024;

/** Parses a cache ref (a tag; a digest cannot be written to, nor merged into). */
export function cacheReference(text: string, flag: string): ImageReference {
  let ref: ImageReference;
  try {
    ref = parseReference(text);
  } catch (e) {
    throw new UserError(`${flag} ref=${text}: ${e instanceof Error ? e.message : String(e)}`, {
      hint: "give a repository and tag, e.g. ref=registry.example/app:buildcache",
    });
  }
  if (ref.digest && !ref.tag)
    throw new UserError(`${flag} ref=${text}: a cache ref is a tag, not a digest`, {
      hint: "give a repository and tag, e.g. ref=registry.example/app:buildcache",
    });
  return ref;
}

export function registryCacheStorage(
  clients: RegistryClients,
  ref: ImageReference,
  text: string,
): CacheStorage {
  const repo = clients.repository(ref);
  const blobs = new RegistryBlobProvider(repo);
  const tag = ref.tag ?? "latest";
  const where = `type=registry,ref=${text}`;
  return {
    where,
    async readIndex(): Promise<ImageIndex | undefined> {
      const fetched = await repo.tryGetManifest(tag);
      if (!fetched || !isIndexMediaType(fetched.mediaType)) return undefined;
      const doc = parseAnyManifest(fetched.bytes, fetched.mediaType, where);
      return doc.kind === "index" ? doc.index : undefined;
    },
    async readBytes(d: Descriptor, maxBytes: number): Promise<Buffer> {
      if (d.size > maxBytes) throw new UserError(`${where}: ${d.digest} is larger than ${maxBytes} bytes`);
      if (isManifestMediaType(d.mediaType) || isIndexMediaType(d.mediaType)) {
        const fetched = await repo.getManifest(d.digest);
        if (fetched.bytes.length !== d.size)
          throw new UserError(
            `${where}: manifest ${d.digest} is ${fetched.bytes.length} bytes, not ${d.size}`,
          );
        return fetched.bytes;
      }
      const bytes = await blobs.readBytes(d.digest, maxBytes);
      if (bytes.length !== d.size)
        throw new UserError(`${where}: blob ${d.digest} is ${bytes.length} bytes, not ${d.size}`);
      return bytes;
    },
    openBlob: (d) => blobs.readStream(d.digest),
    hasBlob: (d) => blobs.has(d.digest),
    async readImages() {
      const fetched = await repo.tryGetManifest(tag);
      if (!fetched) return [];
      const top = parseAnyManifest(fetched.bytes, fetched.mediaType, where);
      const manifests: Descriptor[] = top.kind === "index" ? imageEntries(top.index.manifests) : [];
      const images = top.kind === "manifest" ? [top.manifest] : [];
      for (const m of manifests.slice(0, maxImages)) {
        const doc = parseAnyManifest(await this.readBytes(m, maxManifestBytes), m.mediaType, where);
        if (doc.kind === "manifest") images.push(doc.manifest);
      }
      const out: { layers: Descriptor[]; config: Buffer }[] = [];
      for (const image of images)
        out.push({ layers: image.layers, config: await this.readBytes(image.config, maxConfigBytes) });
      return out;
    },
    blobLabels: () => ({ [`${distributionSourceLabelPrefix}${ref.registry}`]: ref.repository }),
    writer(): CacheWriter {
      const pending = new Map<string, { descriptor: Descriptor; data: Buffer | (() => Promise<Readable>) }>();
      const manifests: { descriptor: Descriptor; bytes: Buffer }[] = [];
      return {
        blob(descriptor, data) {
          if (!pending.has(descriptor.digest)) pending.set(descriptor.digest, { descriptor, data });
        },
        manifest(descriptor, bytes, kept) {
          // A kept manifest is in the repository already (it was read from there).
          if (!kept) manifests.push({ descriptor, bytes });
        },
        async commit(index, bytes) {
          for (const { descriptor, data } of pending.values()) {
            await repo.pushBlob(descriptor.digest, {
              size: descriptor.size,
              open: () => {
                if (Buffer.isBuffer(data)) return Readable.from([data]);
                const out = new PassThrough();
                data().then(
                  (s) => pipeline(s, out, () => {}),
                  (e: unknown) => out.destroy(e as Error),
                );
                return out;
              },
            });
          }
          for (const m of manifests)
            await repo.putManifest(m.descriptor.digest, m.bytes, m.descriptor.mediaType);
          await repo.putManifest(tag, bytes, index.mediaType);
        },
      };
    },
  };
}
