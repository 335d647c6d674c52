/**
 * type=local (the image's files in a directory) and type=tar (the same files as one tar). With several
 * platforms each gets a subdirectory named as buildx names it (`linux_arm64`), unless platform-split=false
 * merges them.
 *
 * Both read the result's own tree (the solver's Ref: a view of its snapshots) when the build gives one, so
 * nothing is decompressed or copied first; otherwise (images given by their layers only, or several
 * platforms merged by platform-split=false) they first compute the merged view of each image in a scratch
 * directory of the state root (the injected applier, worker/'s, unpacks the layers in order there, so
 * whiteouts only ever delete the image's own files). Then they write that view: as a tar stream, or into
 * `dest`. The destination is the user's directory
 * and may hold their own files and links (some planted by an earlier export of a hostile image), so it is
 * written as BuildKit's local exporter (fsutil's DiskWriter, merge mode) writes it: every path of the tree,
 * parents first; a directory merges with a directory already there; anything else in the way, a symlink
 * above all, is replaced, never followed; files of the user that the tree does not name are left alone.
 * A scratch tree on the state root's file system is moved into dest by rename (moveInto); a result's
 * own tree (never moved: the cache holds it) or a tree elsewhere goes to `dest` through the same applier, as a whiteout-free tar, whose in-root resolver and no-follow writes apply
 * the same rule.
 */
import { lchown, lstat, lutimes, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Attestation } from "../../attest/index.ts";
import type { BlobProvider } from "../../content/index.ts";
import { UserError } from "../../errors/user-error.ts";
import { uniqueSuffix } from "../../fsutil/atomic-file.ts";
import { chmodNoFollow } from "../../fsutil/no-follow.ts";
import { writeOutputFile } from "../../fsutil/output-file.ts";
import { type Timestamp, zeroTime } from "../../oci/layer/entry.ts";
import type { LayerTarItem } from "../../oci/layer/tar-writer.ts";
import { layerTarStream } from "../../oci/layer/tar-writer.ts";
import { platformDirName } from "../../oci/platform.ts";
import type { RootfsOutput } from "../output-spec.ts";
import type { BuiltImage, ResultTree } from "../types.ts";
import { attestationItems, type PlatformAttestations } from "./rootfs-attestations.ts";
import { rootfsTarItems } from "./rootfs-walk.ts";

export interface RootfsContext {
  store: BlobProvider;
  /** Unpacks a layer (or any tar) into a directory, resolving every path in-root and following no final link. */
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

/** Subdirectory (or "" for the root) to the scratch directory holding its merged tree. */
type MergedTrees = Map<string, string>;

function subdirs(output: RootfsOutput, images: readonly BuiltImage[]): string[] {
  const split = output.platformSplit && images.length > 1;
  return images.map((img) => (split ? platformDirName(img.platform) : ""));
}

/**
 * Runs `use` on the merged tree of every platform subdirectory. `owned` trees are scratch copies of this
 * export (they may be moved into dest); others are the result's own trees (views of the worker's
 * snapshots), which are only ever read.
 */
async function withMergedTrees<T>(
  images: readonly BuiltImage[],
  dirs: readonly string[],
  ctx: RootfsContext,
  use: (trees: MergedTrees, owned: boolean) => Promise<T>,
): Promise<T> {
  const fromRefs = images.every((image) => image.tree !== undefined);
  // One result per subdirectory: its tree is read as it is, nothing is unpacked or copied first.
  if (fromRefs && new Set(dirs).size === dirs.length) {
    const views: ResultTree[] = [];
    try {
      const trees: MergedTrees = new Map();
      for (const [i, image] of images.entries()) {
        const view = await image.tree!();
        views.push(view);
        trees.set(dirs[i]!, view.root);
      }
      return await use(trees, false);
    } finally {
      for (const view of views) await view.release();
    }
  }
  await mkdir(ctx.tempDir, { recursive: true });
  // Named by its process (uniqueSuffix), so a build killed meanwhile has its scratch removed by the next.
  const scratch = join(ctx.tempDir, `rootfs-${uniqueSuffix()}`);
  await mkdir(scratch, { mode: 0o700 });
  try {
    const trees: MergedTrees = new Map();
    for (const [i, image] of images.entries()) {
      const sub = dirs[i]!;
      // platform-split=false: every image lands in the same tree, later ones over earlier ones.
      const root = trees.get(sub) ?? join(scratch, sub === "" ? "merged" : sub);
      await mkdir(root, { recursive: true });
      if (image.tree) {
        const view = await image.tree();
        try {
          await ctx.unpackLayer(layerTarStream(rootfsTarItems(view.root, "", { skipWhiteouts: true })), root);
        } finally {
          await view.release();
        }
      } else {
        for (const layer of [...image.baseLayers, ...image.layers]) {
          await ctx.unpackLayer(await ctx.store.readStream(layer.descriptor.digest), root);
        }
      }
      trees.set(sub, root);
    }
    return await use(trees, true);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Each platform's statements with the tree (and subdirectory) they are about. */
function attested(
  images: readonly BuiltImage[],
  dirs: readonly string[],
  trees: MergedTrees,
  attestations: readonly (readonly Attestation[])[] | undefined,
): PlatformAttestations[] {
  if (!attestations) return [];
  const shared = new Set(dirs).size !== dirs.length;
  return images.map((image, i) => ({
    sub: dirs[i]!,
    root: trees.get(dirs[i]!)!,
    suffix: shared ? platformDirName(image.platform) : undefined,
    statements: attestations[i] ?? [],
  }));
}

export async function exportLocal(
  output: RootfsOutput,
  images: readonly BuiltImage[],
  ctx: RootfsContext,
  attestations?: readonly (readonly Attestation[])[],
): Promise<RootfsResult> {
  const dirs = subdirs(output, images);
  await withMergedTrees(images, dirs, ctx, async (trees, owned) => {
    await prepareDestination(output.dest);
    const done = ctx.progress(`copying files to ${output.dest}`);
    const now = Date.now();
    const time = { sec: Math.floor(now / 1000), nsec: (now % 1000) * 1e6 };
    // The subjects are read before the trees are moved away.
    const statements = await attestationItems(attested(images, dirs, trees, attestations), time);
    const [scratch] = [...trees.values()];
    if (owned && scratch !== undefined && (await stat(scratch)).dev === (await stat(output.dest)).dev) {
      for (const [sub, tree] of trees) await moveInto(tree, output.dest, sub);
    } else {
      await ctx.unpackLayer(layerTarStream(treeItems(trees, time, !owned)), output.dest);
    }
    if (statements.length) await ctx.unpackLayer(layerTarStream(statements), output.dest);
    done();
  });
  return { type: "local", dest: output.dest, platformDirs: dirs.filter((d) => d !== "") };
}

/**
 * On one file system the merged tree is moved into dest by rename, with the same rules: `name` in `dir` is
 * looked at without following it; a directory on both sides merges (the image's metadata wins), anything
 * else in the way is removed (rm never follows a link) and the image's entry, a whole subtree when dest has
 * none, is renamed into place, which does not follow a link at the new name either.
 */
async function moveInto(from: string, dir: string, name: string): Promise<void> {
  const target = name === "" ? dir : join(dir, name);
  const source = await lstat(from);
  const existing = name === "" ? await stat(dir) : await lstat(target).catch(() => undefined);
  if (!(source.isDirectory() && existing?.isDirectory())) {
    if (existing !== undefined) await rm(target, { recursive: true, force: true });
    await rename(from, target);
    return;
  }
  for (const child of await readdir(from)) await moveInto(join(from, child), target, child);
  if (name === "") return; // dest itself keeps the user's owner and mode
  await lchown(target, source.uid, source.gid);
  chmodNoFollow(target, source.mode & 0o7777); // dest is the user's: never follow a link swapped in meanwhile
  await lutimes(target, source.atime, source.mtime);
}

/** `dest` itself is the user's to name (a link they give is followed); it must be, or become, a directory. */
async function prepareDestination(dest: string): Promise<void> {
  const existing = await lstat(dest).catch(() => undefined);
  if (existing !== undefined && !existing.isDirectory() && !existing.isSymbolicLink()) {
    throw new UserError(`-o type=local: ${dest} exists and is not a directory`, {
      hint: "give dest= a directory (new or existing), or remove the file",
    });
  }
  await mkdir(dest, { recursive: true });
}

export async function exportRootfsTar(
  output: RootfsOutput,
  images: readonly BuiltImage[],
  ctx: RootfsContext,
  attestations?: readonly (readonly Attestation[])[],
): Promise<RootfsResult> {
  const dirs = subdirs(output, images);
  await withMergedTrees(images, dirs, ctx, async (trees, owned) => {
    const done = ctx.progress("sending tarball");
    const now = Date.now();
    const time = { sec: Math.floor(now / 1000), nsec: (now % 1000) * 1e6 };
    const statements = await attestationItems(attested(images, dirs, trees, attestations), time);
    const tar = layerTarStream(
      treeItems(trees, zeroTime, !owned, statements),
      ctx.epoch === undefined ? {} : { clampMtime: ctx.epoch },
    );
    if (output.dest === "-") await pipeline(tar, ctx.stdout, { end: false });
    else await writeOutputFile(output.dest, tar);
    done();
  });
  return { type: "tar", dest: output.dest, platformDirs: dirs.filter((d) => d !== "") };
}

/**
 * The trees in tar order; each platform subdirectory is an entry of its own, with mtime `dirTime`.
 * `views`: the trees are views of snapshots, where a lone snapshot may hold overlay whiteouts.
 */
async function* treeItems(
  trees: MergedTrees,
  dirTime: Timestamp,
  views: boolean,
  statements: readonly LayerTarItem[] = [],
): AsyncGenerator<LayerTarItem> {
  const subs = [...trees.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const sub of subs) {
    if (sub !== "") {
      yield { entry: { path: sub, type: "dir", mode: 0o755, uid: 0, gid: 0, mtime: dirTime, size: 0 } };
    }
    const prefix = sub === "" ? "" : `${sub}/`;
    const own = statements.filter((s) => s.entry.path.startsWith(prefix) && s.entry.path !== sub);
    yield* withStatements(rootfsTarItems(trees.get(sub)!, sub, { skipWhiteouts: views }), own, prefix);
  }
}

/**
 * The tree's items with the statement files put in their place in tar order (names by bytes); an entry of
 * the tree by a statement's name (and all below it) gives way to the statement, as in BuildKit's output.
 */
async function* withStatements(
  items: AsyncIterable<LayerTarItem>,
  statements: readonly LayerTarItem[],
  prefix: string,
): AsyncGenerator<LayerTarItem> {
  const top = (item: LayerTarItem) => item.entry.path.slice(prefix.length).split("/")[0]!;
  const pending = [...statements].sort((a, b) => Buffer.compare(Buffer.from(top(a)), Buffer.from(top(b))));
  for await (const item of items) {
    const name = Buffer.from(top(item));
    while (pending.length && Buffer.compare(Buffer.from(top(pending[0]!)), name) < 0) yield pending.shift()!;
    if (pending.some((s) => top(s) === top(item))) continue;
    yield item;
  }
  yield* pending;
}
