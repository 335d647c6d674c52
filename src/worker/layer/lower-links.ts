/**
 * Hard links from a layer to files of the layers below it. Each base layer is unpacked into a directory
 * of its own (shared by every image with that layer), where a link to `bin/busybox` of a lower layer has
 * nothing to link to. The applier defers such links (apply-layer.ts, linksToLower "defer"); this makes
 * them afterwards, in a separate directory stacked right above the layer's: a copy of the lower file
 * (content, owner, mode, xattrs, times — what a second name of its inode shows), as overlayfs's copy-up
 * would give it. The layer's own directory stays what its tar says, so it can still be shared by images
 * whose lower layers differ; the links' directory depends on the whole chain and is named by it.
 *
 * The lower view is hostile like the layers: the target's directories are resolved inside it (a link
 * `usr -> /` stays inside), its last name is never followed (a link to a symlink copies the symlink), and
 * nothing is written but into `into`, below directories made here.
 */
import { constants, copyFileSync, lstatSync, mkdirSync, readlinkSync, symlinkSync } from "node:fs";
import { UserError } from "../../errors/user-error.ts";
import { baseName, parentPath } from "../../oci/layer/layer-path.ts";
import type { LowerLink } from "./apply-layer.ts";
import { splitDevice } from "./file-entry.ts";
import { copyMetadata } from "./lower-dir.ts";
import { RootResolver } from "./root-resolver.ts";
import { makeSpecialFile } from "./special-files.ts";

const isRoot = process.getuid?.() === 0;

export interface LowerLinkDirs {
  /** The layer's own directory (its directories' metadata is copied to the ones made in `into`). */
  layer: string;
  /** The layers below as one tree (an overlay view), where the link targets are. */
  lower: string;
  /** An empty directory that receives the links. */
  into: string;
}

export async function makeLowerLinks(links: readonly LowerLink[], dirs: LowerLinkDirs): Promise<void> {
  const lower = new RootResolver(dirs.lower);
  const made: { path: string; from: string }[] = [];
  const madeDirs = new Set<string>();
  for (const link of links) {
    const dir = lower.resolveDir(parentPath(link.target), false, link.path);
    const source = dir === null ? undefined : `${dir}/${baseName(link.target)}`;
    const stats =
      source === undefined ? undefined : lstatSync(source, { bigint: true, throwIfNoEntry: false });
    if (source === undefined || stats === undefined || stats.isDirectory()) {
      throw new UserError(
        `layer entry ${JSON.stringify(link.path)}: hard link target ${JSON.stringify(link.target)} ${stats?.isDirectory() ? "is a directory" : "does not exist in this layer or the layers below"}`,
        { hint: "the layer is malformed or hostile (a hard link must name a file written before it)" },
      );
    }
    // The directories on the way, as the layer's own directory has them (the applier made them there).
    const parts = link.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join("/");
      if (madeDirs.has(rel)) continue;
      mkdirSync(`${dirs.into}/${rel}`, { mode: 0o700 });
      madeDirs.add(rel);
      made.push({ path: rel, from: `${dirs.layer}/${rel}` });
    }
    const target = `${dirs.into}/${link.path}`;
    if (stats.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else if (stats.isFile())
      copyFileSync(source, target, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    else if (stats.isFIFO()) await makeSpecialFile(target, "fifo");
    else if (isRoot && (stats.isCharacterDevice() || stats.isBlockDevice())) {
      const { devmajor, devminor } = splitDevice(stats.rdev);
      await makeSpecialFile(target, stats.isCharacterDevice() ? "char" : "block", devmajor, devminor);
    } else continue;
    copyMetadata(source, target, stats);
  }
  // Directories last and deepest first: writing into them changed their times.
  for (const dir of made.reverse()) {
    copyMetadata(dir.from, `${dirs.into}/${dir.path}`, lstatSync(dir.from, { bigint: true }));
  }
}
