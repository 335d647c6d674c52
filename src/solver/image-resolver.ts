/**
 * Base images for a build: the planner's metadata resolver (ref + platform -> pinned digest and config)
 * and the solver's source of their layers.
 *
 * A resolution is kept in the content store as a ref (`polyarch.io/resolved/REF|PLATFORM` -> the
 * platform's manifest, annotated with the digest that pins REF), so a later build reuses it without a
 * registry round trip; `pull: true` (`--pull`) always asks the registry. Resolutions are made once per
 * build (every platform and stage shares them). The refs also keep the manifests, configs and layers
 * from the store's garbage collection. A name kept in polyarch's image store (`-t NAME`) comes first
 * (stored-image-source.ts).
 */
import pLimit from "p-limit";
import type { ContentStore } from "../content/types.ts";
import { UserError } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import type { Digest } from "../oci/digest.ts";
import { type ImageConfig, parseImageConfig } from "../oci/image-config.ts";
import { type ImageManifest, parseManifest } from "../oci/manifest.ts";
import { formatPlatform, normalizePlatform, type Platform } from "../oci/platform.ts";
import { formatReference, parseReference, withDigest } from "../registry/reference.ts";
import type { RegistryClients } from "../registry/registry-clients.ts";
import type { RegistryOptions } from "../registry/registry-options.ts";
import { imageFromRoot, storedImageFor } from "./stored-image-source.ts";

/** The planner's ResolvedImage shape (dockerfile/plan/types.ts). */
export interface ResolvedImageInfo {
  ref: string;
  digest: Digest;
  config: ImageConfig;
}

/** One platform's image, known locally: its manifest and config are in the store. */
export interface LocalImage {
  /** The digest that pins the reference (an index's, or the manifest's for a single-platform image). */
  root: Digest;
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
}

export interface ImageResolverOptions {
  store: ContentStore;
  registry?: RegistryOptions;
  /** Always ask the registry (`--pull`), rather than reuse a stored resolution. */
  pull?: boolean;
}

const rootAnnotation = "io.polyarch.resolved.root";
const refPrefix = "polyarch.io/resolved/";
const pinnedPrefix = "polyarch.io/pinned/";

/** Layers a registry may refuse to serve (Windows base layers): never pulled, never needed here. */
function isForeignLayer(d: Descriptor): boolean {
  return Boolean(d.urls?.length) && /foreign|nondistributable/.test(d.mediaType);
}

export class ImageResolver {
  readonly #store: ContentStore;
  readonly #registry: RegistryOptions | undefined;
  readonly #pull: boolean;
  #clients: RegistryClients | undefined;
  readonly #byName = new Map<string, Promise<LocalImage>>();
  readonly #pinned = new Map<string, Promise<LocalImage>>();
  readonly #layers = new Map<
    string,
    {
      promise: Promise<LocalImage>;
      seen: [Descriptor, "present" | "fetched"][];
      listeners: Set<(layer: Descriptor, outcome: "present" | "fetched") => void>;
    }
  >();
  /** References served from blobs already in the store (oci-layout:// contexts), never from a registry. */
  readonly #served = new Map<string, Descriptor>();

  constructor(options: ImageResolverOptions) {
    this.#store = options.store;
    this.#registry = options.registry;
    this.#pull = options.pull ?? false;
  }

  /** The content store the images are kept in. */
  get store(): ContentStore {
    return this.#store;
  }

  /** The registry client and the pull, loaded on first use: a build whose images are all stored needs neither. */
  async #registryClients(): Promise<{
    clients: RegistryClients;
    pullImage: typeof import("../registry/pull.ts").pullImage;
  }> {
    const [{ RegistryClients }, { pullImage }] = await Promise.all([
      import("../registry/registry-clients.ts"),
      import("../registry/pull.ts"),
    ]);
    this.#clients ??= new RegistryClients(this.#registry);
    return { clients: this.#clients, pullImage };
  }

  /**
   * The build's registry clients, shared with everything else the build asks a registry (cache import and
   * export): one transport per host, so the scheme probe, the ping and the tokens happen once per host and
   * connections are reused across repositories.
   */
  async registryClients(): Promise<RegistryClients> {
    return (await this.#registryClients()).clients;
  }

  /**
   * Serves `ref` from the store: `root` (an index or a manifest) and every platform image it lists are
   * there. An oci-layout:// context is copied in and then served this way; no registry is asked for it.
   */
  serve(ref: string, root: Descriptor): void {
    this.#served.set(ref, root);
  }

  /** The planner's resolver: `ref` is normalised and may carry `@digest`. */
  async resolveImage(ref: string, platform: Platform): Promise<ResolvedImageInfo> {
    const image = await this.#resolve(ref, platform);
    return { ref, digest: image.root, config: image.config };
  }

  #resolve(ref: string, platform: Platform): Promise<LocalImage> {
    const name = `${refPrefix}${ref}|${formatPlatform(normalizePlatform(platform))}`;
    let p = this.#byName.get(name);
    if (!p) {
      p = (async () => {
        const served = this.#served.get(ref);
        if (served) {
          const image = await imageFromRoot(this.#store, served, platform, {
            what: `the OCI layout image ${served.digest}`,
            hint: `build it for ${formatPlatform(platform)} too, or build with --platform set to one it has`,
          });
          await this.#remember([name, pinnedName(image.root, platform)], image);
          return image;
        }
        const pinned = parseReference(ref).digest !== undefined;
        if (!this.#pull && !pinned) {
          const stored = await storedImageFor(this.#store, ref, platform);
          if (stored) {
            await this.#remember([pinnedName(stored.root, platform)], stored);
            return stored;
          }
        }
        if (!this.#pull || pinned) {
          const stored = await this.#fromStore(name);
          if (stored) return stored;
        }
        const image = await this.#fetchMetadata(ref, platform);
        await this.#remember([name, pinnedName(image.root, platform)], image);
        return image;
      })();
      this.#byName.set(name, p);
      // A failed resolution is not kept: the next ask tries again.
      p.catch(() => this.#byName.delete(name));
    }
    return p;
  }

  /** The image a pinned source names (ref@digest for a platform), from the store when it is there. */
  image(ref: string, digest: Digest, platform: Platform): Promise<LocalImage> {
    const name = pinnedName(digest, platform);
    let p = this.#pinned.get(name);
    if (!p) {
      p = (async () => {
        const stored = await this.#fromStore(name);
        if (stored) return stored;
        if (this.#served.has(ref)) return this.#resolve(ref, platform);
        const image = await this.#fetchMetadata(
          formatReference(withDigest(parseReference(ref), digest)),
          platform,
        );
        await this.#remember([name], image);
        return image;
      })();
      this.#pinned.set(name, p);
      p.catch(() => this.#pinned.delete(name));
    }
    return p;
  }

  /**
   * The image with every layer in the store: pulls (verified) what is missing. `onBlob` sees each layer
   * as it is found or fetched, also when another caller (an early prefetch) started the same pull: what
   * happened before it asked is replayed to it.
   */
  withLayers(
    ref: string,
    digest: Digest,
    platform: Platform,
    onBlob?: (layer: Descriptor, outcome: "present" | "fetched") => void,
  ): Promise<LocalImage> {
    const key = `${digest}|${formatPlatform(platform)}`;
    let entry = this.#layers.get(key);
    if (!entry) {
      const seen: [Descriptor, "present" | "fetched"][] = [];
      const listeners = new Set<(layer: Descriptor, outcome: "present" | "fetched") => void>();
      const report = (layer: Descriptor, outcome: "present" | "fetched") => {
        seen.push([layer, outcome]);
        for (const l of listeners) l(layer, outcome);
      };
      const promise = (async () => {
        const image = await this.image(ref, digest, platform);
        const missing: Descriptor[] = [];
        for (const layer of image.manifest.layers) {
          if (isForeignLayer(layer)) continue;
          if (await this.#store.has(layer.digest)) report(layer, "present");
          else missing.push(layer);
        }
        if (missing.length > 0) {
          // The manifest is stored (and was verified when it was): only the missing layers are fetched,
          // without asking the registry for the index and manifest again.
          const [{ clients }, { pullBlob }] = await Promise.all([
            this.#registryClients(),
            import("../registry/blob-transfer.ts"),
          ]);
          const repo = clients.repository(parseReference(ref));
          const limit = pLimit(clients.options.concurrency ?? 4);
          await Promise.all(
            missing.map((layer) =>
              limit(async () => {
                const outcome = await pullBlob(repo, this.#store, layer);
                report(layer, outcome);
              }),
            ),
          );
        }
        return image;
      })();
      entry = { promise, seen, listeners };
      this.#layers.set(key, entry);
      promise.catch(() => this.#layers.delete(key));
    }
    if (onBlob) {
      for (const [layer, outcome] of entry.seen) onBlob(layer, outcome);
      entry.listeners.add(onBlob);
    }
    return entry.promise;
  }

  /**
   * Starts fetching the layers of base images a build's result will hold, while the cache is probed and
   * steps run: the pull is the same as the later withLayers call's (which then waits for it), so it only
   * moves earlier. A failure here is reported by that later call.
   */
  prefetchLayers(ref: string, digest: Digest, platform: Platform): Promise<unknown> {
    return this.withLayers(ref, digest, platform).catch(() => {});
  }

  async #fetchMetadata(ref: string, platform: Platform): Promise<LocalImage> {
    const parsed = parseReference(ref);
    const { clients, pullImage } = await this.#registryClients();
    const [pulled] = await pullImage(clients, this.#store, parsed, [platform], {
      metadataOnly: true,
    });
    if (!pulled) throw new UserError(`${ref}: no image for ${formatPlatform(platform)}`);
    // pullImage stored the manifest only when it came from an index; a single manifest is the root.
    if (!(await this.#store.has(pulled.manifestDescriptor.digest))) {
      throw new Error(`${ref}: manifest ${pulled.manifestDescriptor.digest} was not stored by the pull`);
    }
    return {
      root: pulled.root.digest,
      manifestDescriptor: pulled.manifestDescriptor,
      manifest: pulled.manifest,
      config: pulled.config,
    };
  }

  async #remember(names: readonly string[], image: LocalImage): Promise<void> {
    const { mediaType, digest, size } = image.manifestDescriptor;
    const descriptor: Descriptor = { mediaType, digest, size, annotations: { [rootAnnotation]: image.root } };
    // In parallel, not one after the other: both are small files in one directory.
    await Promise.all(names.map((name) => this.#store.setRef(name, descriptor)));
  }

  async #fromStore(name: string): Promise<LocalImage | undefined> {
    try {
      const descriptor = await this.#store.getRef(name);
      const root = descriptor?.annotations?.[rootAnnotation];
      if (!descriptor || !root) return undefined;
      const manifest = parseManifest(await this.#store.readBytes(descriptor.digest), descriptor.digest);
      const config = parseImageConfig(
        await this.#store.readBytes(manifest.config.digest),
        manifest.config.digest,
      );
      const { mediaType, digest, size } = descriptor;
      return { root: root as Digest, manifestDescriptor: { mediaType, digest, size }, manifest, config };
    } catch {
      // Missing or damaged blobs: resolve again.
      return undefined;
    }
  }

  async close(): Promise<void> {
    await this.#clients?.close();
  }
}

function pinnedName(digest: Digest, platform: Platform): string {
  return `${pinnedPrefix}${digest}|${formatPlatform(normalizePlatform(platform))}`;
}
