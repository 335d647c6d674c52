import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import type { Descriptor } from "../../../../src/oci/descriptor.ts";
import { digestOf } from "../../../../src/oci/digest.ts";
import { serializeImageConfig } from "../../../../src/oci/image-config.ts";
import {
  type ImageIndex,
  type ImageManifest,
  serializeIndex,
  serializeManifest,
} from "../../../../src/oci/manifest.ts";
import { MediaType } from "../../../../src/oci/media-types.ts";
import type { Platform } from "../../../../src/oci/platform.ts";

/** One blob of a hand-built image: its descriptor and bytes. */
export interface SampleBlob {
  descriptor: Descriptor;
  bytes: Buffer;
}

export interface SampleImage {
  /** The index (a multi-platform image) and its descriptor. */
  index: SampleBlob;
  /** Per platform: manifest, config, layer. */
  images: { platform: Platform; manifest: SampleBlob; config: SampleBlob; layer: SampleBlob }[];
  /** Every blob, index included. */
  blobs: SampleBlob[];
}

/** A deterministic tar with the given files, built with tar-stream. */
export async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files).sort()) {
    pack.entry({ name, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, content);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function blob(bytes: Buffer, mediaType: string, extra: Partial<Descriptor> = {}): SampleBlob {
  return { bytes, descriptor: { mediaType, digest: digestOf(bytes), size: bytes.length, ...extra } };
}

/** A small multi-platform image: per platform one gzip layer holding /hello.txt, a config, a manifest. */
export async function buildSampleImage(
  platforms: Platform[] = [
    { os: "linux", architecture: "amd64" },
    { os: "linux", architecture: "arm64" },
  ],
): Promise<SampleImage> {
  const images: SampleImage["images"] = [];
  for (const platform of platforms) {
    const raw = await tarOf({ "hello.txt": `hello from ${platform.os}/${platform.architecture}\n` });
    const layer = blob(gzipSync(raw, { level: 6 }), MediaType.ociLayerGzip);
    const config = blob(
      serializeImageConfig({
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        config: { Cmd: ["/bin/sh"] },
        rootfs: { type: "layers", diff_ids: [digestOf(raw)] },
      }),
      MediaType.ociConfig,
    );
    const m: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: config.descriptor,
      layers: [layer.descriptor],
    };
    const manifest = blob(serializeManifest(m), MediaType.ociManifest, { platform });
    images.push({ platform, manifest, config, layer });
  }
  const idx: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: images.map((i) => i.manifest.descriptor),
  };
  const index = blob(serializeIndex(idx), MediaType.ociIndex);
  const blobs = [index, ...images.flatMap((i) => [i.manifest, i.config, i.layer])];
  return { index, images, blobs };
}
