/**
 * type=local (the image's files in a directory) and type=tar (the same files as one tar). Layers are
 * unpacked in order by the injected applier (worker/'s, which deals with whiteouts and hostile names), so
 * the result is exactly the rootfs a container would see. With several platforms each gets a subdirectory
 * named as buildx names it (`linux_arm64`), unless platform-split=false merges them.
 */
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rename, rm, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ContentStore } from "../../content/index.ts";
import type { LayerTarItem } from "../../oci/layer/tar-writer.ts";
import { layerTarStream } from "../../oci/layer/tar-writer.ts";
import { platformDirName } from "../../oci/platform.ts";
import type { RootfsOutput } from "../output-spec.ts";
import type { BuiltImage } from "../types.ts";
import { rootfsTarItems } from "./rootfs-walk.ts";

export interface RootfsContext {
  store: ContentStore;
  unpackLayer: (blob: Readable, dir: string) => Promise<void>;
  stdout: Writable;
  tempDir: string;
  /** SOURCE_DATE_EPOCH: type=tar clamps later file times to it. */
  epoch?: number;
  progress: (name: string) => (detail?: string) => void;
}

export interface RootfsResult {
  type: "local" | "tar";
  dest: string;
  /** Subdirectories written, one per platform (empty when the files went to dest itself). */
  platformDirs: string[];
}

function subdirs(output: RootfsOutput, images: readonly BuiltImage[]): string[] {
  const split = output.platformSplit && images.length > 1;
  return images.map((img) => (split ? platformDirName(img.platform) : ""));
}

async function unpackImage(image: BuiltImage, dir: string, ctx: RootfsContext): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const layer of [...image.baseLayers, ...image.layers]) {
    await ctx.unpackLayer(await ctx.store.readStream(layer.descriptor.digest), dir);
  }
}

export async function exportLocal(
  output: RootfsOutput,
  images: readonly BuiltImage[],
  ctx: RootfsContext,
): Promise<RootfsResult> {
  const dirs = subdirs(output, images);
  const done = ctx.progress(`copying files to ${output.dest}`);
  for (const [i, image] of images.entries()) await unpackImage(image, join(output.dest, dirs[i]!), ctx);
  done();
  return { type: "local", dest: output.dest, platformDirs: dirs.filter((d) => d !== "") };
}

export async function exportRootfsTar(
  output: RootfsOutput,
  images: readonly BuiltImage[],
  ctx: RootfsContext,
): Promise<RootfsResult> {
  const dirs = subdirs(output, images);
  await mkdir(ctx.tempDir, { recursive: true });
  const scratch = await mkdtemp(join(ctx.tempDir, "rootfs-"));
  try {
    const roots = new Map<string, string>(); // subdir → unpacked tree
    for (const [i, image] of images.entries()) {
      const sub = dirs[i]!;
      const root = join(scratch, sub === "" ? "merged" : sub);
      await unpackImage(image, root, ctx);
      roots.set(sub, root);
    }
    const done = ctx.progress("sending tarball");
    const tar = layerTarStream(treeItems(roots), ctx.epoch === undefined ? {} : { clampMtime: ctx.epoch });
    if (output.dest === "-") await pipeline(tar, ctx.stdout, { end: false });
    else await writeFileAtomically(output.dest, tar);
    done();
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { type: "tar", dest: output.dest, platformDirs: dirs.filter((d) => d !== "") };
}

async function* treeItems(roots: Map<string, string>): AsyncGenerator<LayerTarItem> {
  const subs = [...roots.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const sub of subs) {
    if (sub !== "") {
      yield {
        entry: { path: sub, type: "dir", mode: 0o755, uid: 0, gid: 0, mtime: { sec: 0, nsec: 0 }, size: 0 },
      };
    }
    yield* rootfsTarItems(roots.get(sub)!, sub);
  }
}

async function writeFileAtomically(file: string, data: Readable): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  try {
    await pipeline(data, createWriteStream(tmp, { flags: "wx", flush: true }));
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}
