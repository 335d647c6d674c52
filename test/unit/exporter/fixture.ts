/**
 * Hand-built inputs for the exporter, as the solver would hand them over: gzip layers already in a content
 * store, and planner-like configs (base image history with times, new entries without).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { type ContentStore, openContentStore } from "../../../src/content/index.ts";
import type { BuiltImage, BuiltLayer } from "../../../src/exporter/index.ts";
import { type Digest, digestOf } from "../../../src/oci/digest.ts";
import type { HistoryEntry, ImageConfig } from "../../../src/oci/image-config.ts";
import type { LayerEntry } from "../../../src/oci/layer/entry.ts";
import { readTar } from "../../../src/oci/layer/tar-reader.ts";
import { type LayerTarItem, layerTarChunks } from "../../../src/oci/layer/tar-writer.ts";
import { MediaType } from "../../../src/oci/media-types.ts";
import type { Platform } from "../../../src/oci/platform.ts";

export interface FixtureFile {
  path: string;
  content?: string;
  /** Seconds since the epoch; default 1_700_000_000 (2023-11-14). */
  mtime?: number;
  type?: "file" | "dir";
}

export async function tempStore(): Promise<{
  store: ContentStore;
  dir: string;
  cleanup: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-exporter-"));
  const store = await openContentStore(join(dir, "state", "content"));
  return { store, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A layer tar written by polyarch's own deterministic writer. */
export async function layerTar(files: readonly FixtureFile[]): Promise<Buffer> {
  const items: LayerTarItem[] = [...files]
    .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)))
    .map((f) => {
      const body = Buffer.from(f.content ?? "");
      const type = f.type ?? "file";
      const entry: LayerEntry = {
        path: f.path,
        type,
        mode: type === "dir" ? 0o755 : 0o644,
        uid: 0,
        gid: 0,
        mtime: { sec: f.mtime ?? 1_700_000_000, nsec: 0 },
        size: type === "file" ? body.length : 0,
      };
      return {
        entry,
        open: async function* () {
          yield body;
        },
      };
    });
  const chunks: Buffer[] = [];
  for await (const c of layerTarChunks(items)) chunks.push(c);
  return Buffer.concat(chunks);
}

export async function storeLayer(store: ContentStore, files: readonly FixtureFile[]): Promise<BuiltLayer> {
  const tar = await layerTar(files);
  const gz = gzipSync(tar, { level: 6 });
  const info = await store.write(undefined, gz);
  return {
    descriptor: { mediaType: MediaType.ociLayerGzip, digest: info.digest, size: info.size },
    diffId: digestOf(tar),
  };
}

/** The entries (name and mtime seconds) of a stored gzip layer. */
export async function layerEntries(
  store: ContentStore,
  digest: Digest,
): Promise<{ name: string; mtime: number }[]> {
  const tar = gunzipSync(await store.readBytes(digest, 64 * 1024 * 1024));
  const out: { name: string; mtime: number }[] = [];
  for await (const e of readTar(
    (async function* () {
      yield tar;
    })(),
  ))
    out.push({ name: e.name, mtime: e.mtime.sec });
  return out;
}

export const baseHistory: HistoryEntry[] = [
  { created: "2023-01-01T00:00:00Z", created_by: "/bin/sh -c #(nop) ADD file:abc in / " },
  { created: "2023-01-01T00:00:01Z", created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true },
];

/** A planner-like config: base history (with times), then new entries (without). */
export function plannerConfig(
  platform: Platform,
  base: readonly BuiltLayer[],
  newHistory: HistoryEntry[],
): ImageConfig {
  return {
    architecture: platform.architecture,
    os: platform.os,
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"] },
    rootfs: { type: "layers", diff_ids: base.map((l) => l.diffId) },
    history: [...baseHistory, ...newHistory],
  };
}

export const platforms: Platform[] = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64" },
];

/** Per platform: one base layer, then `RUN` (a layer), `ENV` (empty), `COPY` (a layer). */
export async function sampleImages(
  store: ContentStore,
  options: { newMtime?: number } = {},
): Promise<BuiltImage[]> {
  const out: BuiltImage[] = [];
  for (const platform of platforms) {
    const base = await storeLayer(store, [
      { path: "bin", type: "dir", mtime: 1_600_000_000 },
      { path: "bin/sh", content: `shell for ${platform.architecture}`, mtime: 1_600_000_000 },
    ]);
    const run = await storeLayer(store, [
      { path: "etc", type: "dir", mtime: options.newMtime },
      { path: "etc/built", content: `built on ${platform.architecture}\n`, mtime: options.newMtime },
    ]);
    const copy = await storeLayer(store, [
      { path: "app.txt", content: "same everywhere\n", mtime: options.newMtime },
    ]);
    out.push({
      platform,
      config: plannerConfig(
        platform,
        [base],
        [
          {
            created_by: "RUN /bin/sh -c echo built > /etc/built # buildkit",
            comment: "buildkit.dockerfile.v0",
          },
          { created_by: "ENV A=1", comment: "buildkit.dockerfile.v0", empty_layer: true },
          { created_by: "COPY app.txt / # buildkit", comment: "buildkit.dockerfile.v0" },
        ],
      ),
      baseLayers: [base],
      layers: [run, copy],
    });
  }
  return out;
}
