/**
 * ADD of a local tar archive: it is extracted into the destination directory instead of copied, as Docker
 * and BuildKit do. A file is an archive when, once decompressed (plain, gzip, bzip2, xz, zstd), it starts
 * with a valid tar header; anything else is copied as it is.
 *
 * The archive is the user's file, not a layer: `.wh.` names are plain files, ownership comes from the
 * headers (or --chown), and --chmod does not apply (BuildKit ignores it here too). It may still be hostile,
 * and extraction is contained in the destination directory as if it were "/" (as BuildKit's os.Root-based
 * extractor and Docker's chroot do): an absolute name lands below it, a name whose ".." climbs out of it is
 * refused, symlinks met on the way are resolved inside it, the last name is never followed (whatever is
 * there is removed first; files are created with O_EXCL|O_NOFOLLOW), and hard links must name an entry
 * inside it.
 *
 * The layer applier (../layer/apply-layer.ts) is not used: it interprets whiteouts and reads only the
 * compressions OCI layers have, and an ADD must do neither.
 */
import {
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { UserError } from "../../errors/user-error.ts";
import { chmodNoFollow } from "../../fsutil/no-follow.ts";
import type { Timestamp } from "../../oci/layer/entry.ts";
import { baseName, cleanLayerPath, parentPath } from "../../oci/layer/layer-path.ts";
import { decodeHeader } from "../../oci/layer/tar-header.ts";
import { readTar, type TarEntry } from "../../oci/layer/tar-reader.ts";
import { makeSpecialFile } from "../layer/special-files.ts";
import { writeNewFile } from "../layer/write-new-file.ts";
import { isOverlayPrivate, writeXattr } from "../layer/xattrs.ts";
import type { ActionEnv } from "./context.ts";
import { compressionOf, decompressedFile } from "./decompress.ts";
import { fileOpError } from "./errors.ts";
import { type Ids, isRoot, logicalPath, lstatIfExists, mkdirAllInRoot, resolveInRoot } from "./root-path.ts";

/** Whether a regular file is a (possibly compressed) tar archive. */
export async function isArchive(path: string): Promise<boolean> {
  try {
    const kind = compressionOf(path);
    const parts: Buffer[] = [];
    let length = 0;
    for await (const chunk of decompressedFile(path, kind)) {
      parts.push(chunk);
      length += chunk.length;
      if (length >= 512) break;
    }
    if (length < 512) return false;
    return decodeHeader(Buffer.concat(parts).subarray(0, 512), "") !== null;
  } catch {
    return false;
  }
}

export interface ExtractOptions {
  /** --chown: every entry gets this owner instead of the archive's. */
  owner: Ids | undefined;
  env: ActionEnv;
  /** The archive's path as the Dockerfile names it, for errors. */
  archiveName: string;
}

interface PendingDir {
  name: string;
  ino: number;
  mtime: Timestamp;
}

function seconds(t: Timestamp): number {
  return t.sec + t.nsec / 1e9;
}

export async function extractArchive(archive: string, into: string, options: ExtractOptions): Promise<void> {
  const root = realpathSync(into);
  const dirs: PendingDir[] = [];
  const { env } = options;
  const refuse = (entry: TarEntry, why: string) =>
    fileOpError(
      env,
      `ADD ${options.archiveName}: archive entry ${JSON.stringify(entry.name)} ${why}`,
      "the archive is malformed or hostile; nothing was written outside the destination directory",
    );
  try {
    for await (const entry of readTar(decompressedFile(archive, compressionOf(archive)))) {
      const name = cleanLayerPath(entry.name);
      if (name === null) throw refuse(entry, 'climbs out of the destination with ".."');
      if (name === "") continue; // the archive's root: the destination keeps its own metadata
      const parent = mkdirAllInRoot(root, `/${parentPath(name)}`, 0o755);
      const target = `${parent.host}/${baseName(name)}`;
      const existing = lstatIfExists(target);
      if (existing && !(existing.isDirectory() && entry.type === "dir"))
        rmSync(target, { recursive: true, force: true });

      switch (entry.type) {
        case "dir":
          if (!existing?.isDirectory()) mkdirSync(target, { mode: 0o700 });
          break;
        case "file":
          await writeNewFile(target, entry.body);
          break;
        case "symlink":
          symlinkSync(entry.linkname, target);
          break;
        case "hardlink": {
          const linkName = cleanLayerPath(entry.linkname);
          if (linkName === null || linkName === "")
            throw refuse(entry, "is a hard link to outside the destination");
          const from = resolveInRoot(root, `/${parentPath(linkName)}`);
          const source = `${from.host}/${baseName(linkName)}`;
          const stats = lstatIfExists(source);
          if (stats === undefined || stats.isDirectory()) {
            throw refuse(
              entry,
              `is a hard link to ${JSON.stringify(entry.linkname)}, which is not an earlier file of the archive`,
            );
          }
          linkSync(source, target);
          break;
        }
        case "fifo":
          await makeSpecialFile(target, "fifo");
          break;
        case "char":
        case "block":
          if (!isRoot) {
            env.warn(`ADD ${options.archiveName}: device ${name} skipped (creating devices needs root)`);
            continue;
          }
          await makeSpecialFile(target, entry.type, entry.devmajor, entry.devminor);
          break;
      }
      // A hard link may name a symlink (one of the archive's, or one already in the destination): the new
      // name is then a second name of that link, and what applies to it must not reach what it points at.
      // Moby's createTarFile does the same: lchown, lsetxattr, and mode and times only for a non-link.
      const isLink = entry.type === "symlink" || lstatSync(target).isSymbolicLink();
      const uid = options.owner?.uid ?? entry.uid;
      const gid = options.owner?.gid ?? entry.gid;
      if (isRoot) lchownSync(target, uid, gid);
      if (!isLink) chmodNoFollow(target, entry.mode);
      for (const [key, value] of entry.xattrs) {
        if (isOverlayPrivate(key)) continue;
        try {
          writeXattr(target, key, value);
        } catch (err) {
          env.warn(
            `${logicalPath(root, target)}: extended attribute ${key} not applied (${(err as Error).message})`,
          );
        }
      }
      // A directory's time is set last: writing its children would change it.
      if (entry.type === "dir") dirs.push({ name, ino: lstatSync(target).ino, mtime: entry.mtime });
      else if (!isLink || entry.type === "symlink")
        lutimesSync(target, seconds(entry.mtime), seconds(entry.mtime));
    }
  } catch (err) {
    if (err instanceof UserError && !err.message.startsWith("layer tar:")) throw err;
    if (err instanceof UserError) {
      throw fileOpError(
        env,
        `ADD ${options.archiveName}: ${err.message.replace(/^layer tar: /, "archive: ")}`,
      );
    }
    throw err;
  }
  for (const dir of dirs.reverse()) {
    // Re-resolved inside the root, and only if it is still the directory the archive made: a later entry
    // may have replaced it or one of its parents, even by a symlink.
    const host = `${resolveInRoot(root, `/${parentPath(dir.name)}`).host}/${baseName(dir.name)}`;
    const stats = lstatIfExists(host);
    if (stats?.isDirectory() && stats.ino === dir.ino)
      lutimesSync(host, seconds(dir.mtime), seconds(dir.mtime));
  }
}
