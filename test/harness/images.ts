import { createCipheriv, createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { Descriptor } from "../../src/oci/descriptor.ts";
import { type Digest, parseDigest } from "../../src/oci/digest.ts";
import { formatPlatform, type Platform, platformDirName, samePlatform } from "../../src/oci/platform.ts";
import {
  busyboxApplets,
  busyboxBinary,
  busyboxOwners,
  busyboxPlatforms,
  busyboxRootfs,
} from "./busybox-rootfs.ts";
import { cacheSubdir, publish, scratchPathFor } from "./cache.ts";
import { runOk } from "./exec.ts";
import { FixtureLayout, isLayout } from "./fixture-layout.ts";
import { entriesOfDir, type TarEntry } from "./layer-tar.ts";

/**
 * Images the integration tests start from, pushed with skopeo rather than our own registry client, so that a
 * test of the client checks it against an independent implementation.
 */

/** Anything skopeo can push to: a TestRegistry, or a fault proxy in front of one. */
export interface PushTarget {
  ref(nameAndTag: string): string;
  skopeoFlags(role?: "src" | "dest"): string[];
}

export interface PushedImage {
  /** Full reference, e.g. 127.0.0.1:PORT/library/busybox:latest */
  ref: string;
  /** Digest of what the tag points at, as the registry stored it (after any --format conversion). */
  digest: Digest;
}

/** Docker media types (schema 2 manifest and manifest list) instead of OCI ones. */
export type PushFormat = "oci" | "docker";

// Bump when the layout's content changes in a way the key below does not see.
const busyboxFixtureVersion = "busybox-fixture-1";

export async function skopeoPushLayout(
  layoutDir: string,
  refName: string,
  target: PushTarget,
  nameAndTag: string,
  options: { all?: boolean; format?: PushFormat } = {},
): Promise<PushedImage> {
  const work = await mkdtemp(join(tmpdir(), "polyarch-push-"));
  try {
    const digestFile = join(work, "digest");
    const ref = target.ref(nameAndTag);
    await runOk("skopeo", [
      "copy",
      "--quiet",
      ...(options.all ? ["--all"] : []),
      ...(options.format === "docker" ? ["--format", "v2s2"] : []),
      "--digestfile",
      digestFile,
      ...target.skopeoFlags("dest"),
      `oci:${layoutDir}:${refName}`,
      `docker://${ref}`,
    ]);
    return { ref, digest: parseDigest((await readFile(digestFile, "utf8")).trim(), "skopeo --digestfile") };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface BusyboxLayout {
  layout: FixtureLayout;
  /** The image index over the three platforms; index.json names it `latest`. */
  index: Descriptor;
  /** Per-platform manifests, each also named in index.json by its platformDirName (`linux_arm_v7`). */
  manifests: Descriptor[];
}

let busyboxLayoutPromise: Promise<BusyboxLayout> | undefined;

/**
 * The multi-arch busybox image as an OCI layout in the test cache (built once per content, then reused).
 * One gzip layer per platform: the busybox rootfs of test/harness/busybox-rootfs.ts.
 */
export function busyboxLayout(): Promise<BusyboxLayout> {
  if (!busyboxLayoutPromise) {
    const building = buildBusyboxLayout();
    busyboxLayoutPromise = building;
    // A failed build is not remembered: the next test tries again (and reports its own error).
    building.catch(() => {
      if (busyboxLayoutPromise === building) busyboxLayoutPromise = undefined;
    });
  }
  return busyboxLayoutPromise;
}

async function buildBusyboxLayout(): Promise<BusyboxLayout> {
  const key = createHash("sha256").update(busyboxFixtureVersion).update(JSON.stringify(busyboxApplets));
  for (const p of busyboxPlatforms) key.update(await readFile(await busyboxBinary(p)));
  const dir = join(await cacheSubdir("layouts"), `busybox-${key.digest("hex").slice(0, 16)}`);

  if (!(await isLayout(dir))) {
    const scratch = scratchPathFor(dir);
    try {
      const layout = await new FixtureLayout(scratch).init();
      const manifests: Descriptor[] = [];
      for (const platform of busyboxPlatforms) {
        const rootfs = join(scratch, "rootfs");
        await mkdir(rootfs);
        await busyboxRootfs(platform, rootfs);
        const layer = await layout.writeLayer(await entriesOfDir(rootfs, busyboxOwners));
        await rm(rootfs, { recursive: true, force: true });
        const createdBy = `busybox-static from Debian, ${formatPlatform(platform)} (polyarch test fixture)`;
        const { manifest } = await layout.writeImage(platform, [{ ...layer, createdBy }]);
        manifests.push(manifest);
        layout.tag(platformDirName(platform), manifest);
      }
      layout.tag("latest", await layout.writeIndex(manifests));
      await layout.finish();
      await publish(scratch, dir);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
  const layout = new FixtureLayout(dir);
  const index = await layout.lookup("latest");
  const manifests: Descriptor[] = [];
  for (const p of busyboxPlatforms)
    manifests.push({ ...(await layout.lookup(platformDirName(p))), platform: p });
  return { layout, index, manifests };
}

/**
 * Pushes the multi-arch busybox image (linux/amd64, linux/arm64, linux/arm/v7 in one index) to
 * `target`, by default as library/busybox:latest. Later issues build FROM it.
 */
export async function pushBusyboxImage(
  target: PushTarget,
  options: { name?: string; format?: PushFormat } = {},
): Promise<PushedImage> {
  const { layout } = await busyboxLayout();
  return skopeoPushLayout(layout.dir, "latest", target, options.name ?? "library/busybox:latest", {
    all: true,
    ...(options.format ? { format: options.format } : {}),
  });
}

export interface ExtraFile {
  /** Absolute path inside the image, e.g. /app/marker. */
  path: string;
  content: string | Buffer;
  mode?: number;
}

/**
 * Pushes one platform's busybox image as a plain manifest (no index), as `docker push` of a single-arch
 * build would: the starting point of the single-arch → multi-arch migration. `extraFile` adds a second layer
 * holding that file, so images pushed under different names can differ.
 */
export async function pushSinglePlatformImage(
  target: PushTarget,
  nameAndTag: string,
  platform: Platform,
  options: { extraFile?: ExtraFile; format?: PushFormat } = {},
): Promise<PushedImage> {
  const base = await busyboxLayout();
  const baseManifest = base.manifests.find((m) => m.platform && samePlatform(m.platform, platform));
  if (!baseManifest) throw new Error(`busybox fixture has no ${formatPlatform(platform)} image`);
  const format = options.format ? { format: options.format } : {};
  if (!options.extraFile) {
    return skopeoPushLayout(base.layout.dir, platformDirName(platform), target, nameAndTag, format);
  }

  const work = await mkdtemp(join(await cacheSubdir("tmp"), "single-"));
  try {
    const layout = await new FixtureLayout(work).init();
    const baseImage = JSON.parse((await base.layout.readBlob(baseManifest.digest)).toString("utf8")) as {
      config: Descriptor;
      layers: Descriptor[];
    };
    const baseConfig = JSON.parse((await base.layout.readBlob(baseImage.config.digest)).toString("utf8")) as {
      rootfs: { diff_ids: Digest[] };
      history: { created_by: string }[];
    };
    const layers = baseImage.layers.map((l, i) => ({
      digest: l.digest,
      size: l.size,
      diffId: baseConfig.rootfs.diff_ids[i]!,
      createdBy: baseConfig.history[i]?.created_by ?? "",
    }));
    for (const l of layers) await layout.linkBlobFrom(base.layout, l.digest);
    const extra = await layout.writeLayer(extraFileEntries(options.extraFile));
    layers.push({ ...extra, createdBy: `COPY ${options.extraFile.path} (polyarch test fixture)` });
    const { manifest } = await layout.writeImage(platform, layers);
    layout.tag("image", manifest);
    await layout.finish();
    return await skopeoPushLayout(work, "image", target, nameAndTag, format);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function extraFileEntries(file: ExtraFile): TarEntry[] {
  const parts = file.path.replace(/^\/+/, "").split("/");
  const entries: TarEntry[] = [];
  for (let i = 1; i < parts.length; i++) {
    entries.push({ path: parts.slice(0, i).join("/"), type: "directory", mode: 0o755 });
  }
  entries.push({
    path: parts.join("/"),
    type: "file",
    mode: file.mode ?? 0o644,
    content: Buffer.from(file.content),
  });
  return entries;
}

export interface LargeImageOptions {
  /** Incompressible payload per platform, in MiB (the image has two platforms: linux/amd64, linux/arm64). */
  megabytesPerPlatform: number;
  /** Layers per platform (default 4), each with files of `fileMegabytes` (default 8) MiB. */
  layersPerPlatform?: number;
  fileMegabytes?: number;
  /** Changes every byte; the same seed gives the same image. */
  seed?: string;
}

export const largeImagePlatforms: readonly Platform[] = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64" },
];

/**
 * A two-platform image of random (incompressible, but seeded and so reproducible) files for benchmarks, as an
 * OCI layout in the test cache named `latest`. Built once per set of options.
 */
export async function largeImageLayout(
  options: LargeImageOptions,
): Promise<{ dir: string; refName: string }> {
  const layersPer = options.layersPerPlatform ?? 4;
  const fileMb = options.fileMegabytes ?? 8;
  const seed = options.seed ?? "polyarch";
  const totalBytes = Math.round(options.megabytesPerPlatform * 1024 * 1024);
  const name = `large-${options.megabytesPerPlatform}m-${layersPer}l-${fileMb}f-${seed.replace(/[^A-Za-z0-9]/g, "_")}`;
  const dir = join(await cacheSubdir("layouts"), name);
  if (await isLayout(dir)) return { dir, refName: "latest" };

  const scratch = scratchPathFor(dir);
  try {
    const layout = await new FixtureLayout(scratch).init();
    const manifests: Descriptor[] = [];
    for (const platform of largeImagePlatforms) {
      const layers = [];
      for (let l = 0; l < layersPer; l++) {
        // Spread the payload evenly; the first layers take the remainder.
        const layerBytes = Math.floor(totalBytes / layersPer) + (l < totalBytes % layersPer ? 1 : 0);
        const entries: TarEntry[] = [{ path: "data", type: "directory", mode: 0o755 }];
        const fileBytes = fileMb * 1024 * 1024;
        for (let f = 0, left = layerBytes; left > 0; f++, left -= fileBytes) {
          const size = Math.min(fileBytes, left);
          const fileSeed = `${seed}/${formatPlatform(platform)}/${l}/${f}`;
          const path = `data/${platformDirName(platform)}-layer${l}-file${String(f).padStart(4, "0")}.bin`;
          entries.push({
            path,
            type: "file",
            mode: 0o644,
            size,
            content: () => randomStream(fileSeed, size),
          });
        }
        const layer = await layout.writeLayer(entries, 1);
        layers.push({ ...layer, createdBy: `random payload layer ${l} (polyarch benchmark fixture)` });
      }
      const { manifest } = await layout.writeImage(platform, layers);
      manifests.push(manifest);
    }
    layout.tag("latest", await layout.writeIndex(manifests));
    await layout.finish();
    await publish(scratch, dir);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { dir, refName: "latest" };
}

/** Pushes the large benchmark image (both platforms, one index) with skopeo. */
export async function pushLargeImage(
  target: PushTarget,
  nameAndTag: string,
  options: LargeImageOptions,
): Promise<PushedImage & { layoutDir: string }> {
  const { dir, refName } = await largeImageLayout(options);
  return { ...(await skopeoPushLayout(dir, refName, target, nameAndTag, { all: true })), layoutDir: dir };
}

/** `size` bytes of AES-CTR keystream: looks random to gzip, costs little CPU, same seed → same bytes. */
function randomStream(seed: string, size: number): Readable {
  const key = createHash("sha256").update(seed).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  const chunk = Buffer.alloc(1024 * 1024);
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(cipher.update(n === chunk.length ? chunk : chunk.subarray(0, n)));
    },
  });
}
