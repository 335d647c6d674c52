import { type Digest, digestAlgorithm, digestHex } from "../digest.ts";

/** File and directory names of the OCI image layout (image-spec image-layout.md). */
export const layoutFileName = "oci-layout";
export const indexFileName = "index.json";
export const blobsDirName = "blobs";
export const imageLayoutVersion = "1.0.0";

/** The index.json annotation the spec defines for a ref name; skopeo's `oci:DIR:REF` matches it. */
export const refNameAnnotation = "org.opencontainers.image.ref.name";
/** containerd's (and BuildKit's oci exporter's) annotation holding the full image name. */
export const imageNameAnnotation = "io.containerd.image.name";

/**
 * The registry of the references an `oci-layout://` build context's image is known by once it is copied into
 * the store (`oci-layout.invalid/NAME@DIGEST`): `.invalid` never resolves, so no registry is ever asked.
 */
export const ociLayoutContextRegistry = "oci-layout.invalid";

/** A blob's path relative to the layout root, with `/` separators (also its tar entry name). */
export function blobRelativePath(digest: Digest): string {
  return `${blobsDirName}/${digestAlgorithm(digest)}/${digestHex(digest)}`;
}

export function layoutFileBytes(): Buffer {
  return Buffer.from(JSON.stringify({ imageLayoutVersion }), "utf8");
}

/**
 * The tag part of an image name, as BuildKit puts it in `org.opencontainers.image.ref.name` next to the full
 * name: `reg:5000/app:1` gives `1`; a name without a tag gives `latest`; a digest-only name gives undefined.
 */
export function refNameOf(imageName: string): string | undefined {
  const withoutDigest = imageName.split("@")[0] ?? "";
  if (withoutDigest !== imageName && !withoutDigest.slice(withoutDigest.lastIndexOf("/") + 1).includes(":")) {
    return undefined;
  }
  const last = withoutDigest.slice(withoutDigest.lastIndexOf("/") + 1);
  const colon = last.indexOf(":");
  return colon >= 0 ? last.slice(colon + 1) : "latest";
}
