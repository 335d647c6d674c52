/**
 * Layer descriptors in the media-type family of the manifest they go into: an OCI manifest lists OCI layer
 * types, a Docker schema 2 manifest Docker's. Base layers pulled as Docker images are renamed the other way
 * when the export is OCI (the bytes are the same; only the name differs), as BuildKit does.
 */
import { UserError } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { type LayerCompression, MediaType } from "../oci/media-types.ts";

const dockerLayer = "application/vnd.docker.image.rootfs.diff.tar";

const toDocker: Record<string, string> = {
  [MediaType.ociLayer]: dockerLayer,
  [MediaType.ociLayerGzip]: MediaType.dockerLayerGzip,
  [MediaType.ociLayerNondistributableGzip]: MediaType.dockerForeignLayerGzip,
};
const toOci: Record<string, string> = {
  [dockerLayer]: MediaType.ociLayer,
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  [MediaType.dockerForeignLayerGzip]: MediaType.ociLayerNondistributableGzip,
};

export function ociLayerMediaType(compression: LayerCompression): string {
  if (compression === "gzip") return MediaType.ociLayerGzip;
  if (compression === "zstd") return MediaType.ociLayerZstd;
  return MediaType.ociLayer;
}

/** The descriptor as the manifest lists it: renamed media type; Docker manifests carry no layer annotations. */
export function manifestLayer(d: Descriptor, oci: boolean): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.urls?.length) out.urls = d.urls;
  if (oci) {
    out.mediaType = toOci[d.mediaType] ?? d.mediaType;
    if (d.annotations && Object.keys(d.annotations).length) out.annotations = d.annotations;
    return out;
  }
  if (d.mediaType === MediaType.ociLayerZstd) {
    throw new UserError(`layer ${d.digest} is zstd-compressed, which Docker media types cannot name`, {
      hint: "drop oci-mediatypes=false, or add compression=gzip,force-compression=true",
    });
  }
  out.mediaType = toDocker[d.mediaType] ?? d.mediaType;
  return out;
}
