import { link, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Descriptor } from "../../src/oci/descriptor.ts";
import { type Digest, digestHex, digestOf } from "../../src/oci/digest.ts";
import { type ImageConfig, serializeImageConfig } from "../../src/oci/image-config.ts";
import {
  type ImageIndex,
  type ImageManifest,
  serializeIndex,
  serializeManifest,
} from "../../src/oci/manifest.ts";
import { MediaType } from "../../src/oci/media-types.ts";
import { normalizePlatform, type Platform } from "../../src/oci/platform.ts";
import { fixtureMtime, type TarEntry, type WrittenLayer, writeGzipLayer } from "./layer-tar.ts";

/**
 * Writes OCI image layouts for fixtures, which skopeo then pushes (`oci:DIR:REF`). Deliberately separate from
 * src/oci/layout so that what the tests push does not depend on the code under test, beyond the serialisers.
 */
export class FixtureLayout {
  readonly dir: string;
  readonly blobDir: string;
  readonly #refs: { name: string; descriptor: Descriptor }[] = [];

  constructor(dir: string) {
    this.dir = dir;
    this.blobDir = join(dir, "blobs", "sha256");
  }

  async init(): Promise<this> {
    await mkdir(this.blobDir, { recursive: true });
    await writeFile(join(this.dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    return this;
  }

  blobPath(digest: Digest): string {
    return join(this.blobDir, digestHex(digest));
  }

  async writeBlob(bytes: Buffer, mediaType: string): Promise<Descriptor> {
    const digest = digestOf(bytes);
    await writeFile(this.blobPath(digest), bytes);
    return { mediaType, digest, size: bytes.length };
  }

  async readBlob(digest: Digest): Promise<Buffer> {
    return readFile(this.blobPath(digest));
  }

  /** Brings a blob over from another layout by hard link (same cache filesystem), without copying bytes. */
  async linkBlobFrom(other: FixtureLayout, digest: Digest): Promise<void> {
    try {
      await link(other.blobPath(digest), this.blobPath(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EXDEV") {
        await writeFile(this.blobPath(digest), await other.readBlob(digest));
      } else if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }

  async writeLayer(entries: readonly TarEntry[], level?: number): Promise<WrittenLayer> {
    return writeGzipLayer(entries, this.blobDir, level);
  }

  /** One platform's image: config (Env PATH, Cmd sh unless given) and manifest over `layers`. */
  async writeImage(
    platform: Platform,
    layers: readonly (WrittenLayer & { createdBy: string })[],
    config: ImageConfig["config"] = defaultContainerConfig,
  ): Promise<{ manifest: Descriptor; config: ImageConfig }> {
    const p = normalizePlatform(platform);
    const created = fixtureMtime.toISOString();
    const imageConfig: ImageConfig = {
      created,
      architecture: p.architecture,
      os: p.os,
      ...(p.variant ? { variant: p.variant } : {}),
      config,
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((l) => ({ created, created_by: l.createdBy })),
    };
    const configDesc = await this.writeBlob(serializeImageConfig(imageConfig), MediaType.ociConfig);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: configDesc,
      layers: layers.map((l) => ({ mediaType: MediaType.ociLayerGzip, digest: l.digest, size: l.size })),
    };
    const desc = await this.writeBlob(serializeManifest(manifest), MediaType.ociManifest);
    return { manifest: { ...desc, platform: p }, config: imageConfig };
  }

  async writeIndex(manifests: readonly Descriptor[]): Promise<Descriptor> {
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [...manifests] };
    return this.writeBlob(serializeIndex(index), MediaType.ociIndex);
  }

  /** Names `descriptor` in index.json as `name`, so skopeo can address it as `oci:DIR:name`. */
  tag(name: string, descriptor: Descriptor): void {
    const { platform: _platform, ...plain } = descriptor;
    this.#refs.push({ name, descriptor: plain });
  }

  async finish(): Promise<void> {
    const index: ImageIndex = {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: this.#refs.map((r) => ({
        ...r.descriptor,
        annotations: { "org.opencontainers.image.ref.name": r.name },
      })),
    };
    await writeFile(join(this.dir, "index.json"), serializeIndex(index));
  }

  /** The descriptor index.json gives `name` (for a layout finished earlier, e.g. from the cache). */
  async lookup(name: string): Promise<Descriptor> {
    const index = JSON.parse(await readFile(join(this.dir, "index.json"), "utf8")) as ImageIndex;
    const found = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === name);
    if (!found) throw new Error(`fixture layout ${this.dir} has no ref ${name}`);
    return found;
  }
}

export const defaultContainerConfig: NonNullable<ImageConfig["config"]> = {
  Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
  Cmd: ["sh"],
};

export async function isLayout(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, "index.json"))).isFile();
  } catch {
    return false;
  }
}
