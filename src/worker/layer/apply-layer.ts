/**
 * The applier: unpacks a layer blob (plain, gzip or zstd tar) into a snapshot directory.
 *
 * Layers come from registries and are treated as hostile. The policy, and why:
 * - A name whose ".." climbs above the root, and a hard link whose target does, is rejected with a
 *   UserError naming the entry. No tool that writes layers produces such names, so one is either corrupt
 *   or an attack, and silently writing it elsewhere would hide that.
 * - Absolute names, and symlinks met while resolving a parent directory, are neutralised the way
 *   containerd's archive package does it: resolved as if the snapshot were "/" (root-resolver.ts).
 *   Real images need this: a layer may hold "/bin -> usr/bin" and a later one "bin/sh", or absolute
 *   links like "/lib64/ld.so -> /lib/x86_64-linux-gnu/ld.so"; rejecting them would break ordinary images,
 *   and following them on the host would write outside the snapshot.
 * - The last component of an entry is never followed: whatever is there is removed first (unless both are
 *   directories, which merge), and files are created with O_EXCL|O_NOFOLLOW.
 * - Device nodes are made only when running as root (skipped with a warning otherwise, as containerd
 *   does in user namespaces); ownership is applied only as root; overlayfs's own xattrs in a tar are
 *   dropped, since they would steer how the snapshot is mounted.
 * - A hard link to a file of a lower layer (which a layer unpacked into a directory of its own cannot
 *   see) is, with `linksToLower: "defer"`, left out and reported in `lowerLinks`: lower-links.ts then
 *   makes it once the layers below are unpacked, in a directory of its own above this one.
 * - An entry whose parent path goes through a symlink of a LOWER layer (`bin -> usr/bin` below, `bin/sh`
 *   here) belongs at the link's target, as containerd applies a layer onto the layers below. Unpacked on
 *   its own, the layer cannot know: it makes `bin/` as a directory, which would hide the lower link. So
 *   the directories it had to make or could not find are reported in `lowerPaths`; lower-symlinks.ts
 *   checks them against the layers below, and when one is a lower symlink the layer is unpacked again
 *   with `lower` set (a directory of that chain's own), which resolves parents through the layers below.
 */
import {
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { realpath } from "node:fs/promises";
import { UserError } from "../../errors/user-error.ts";
import { chmodNoFollow } from "../../fsutil/no-follow.ts";
import type { Digest } from "../../oci/digest.ts";
import { Digester } from "../../oci/digest.ts";
import { decompressedLayer } from "../../oci/layer/compression.ts";
import type { Timestamp } from "../../oci/layer/entry.ts";
import { baseName, classifyWhiteout, cleanLayerPath, parentPath } from "../../oci/layer/layer-path.ts";
import { readTar, type TarEntry } from "../../oci/layer/tar-reader.ts";
import { copyLowerDirMetadata, type LowerDir } from "./lower-dir.ts";
import { RootResolver } from "./root-resolver.ts";
import { makeSpecialFile } from "./special-files.ts";
import { writeNewFile } from "./write-new-file.ts";
import { isOverlayPrivate, writeXattr, xattrErrno } from "./xattrs.ts";

export interface ApplyOptions {
  /** The snapshot directory; it must exist. */
  root: string;
  /**
   * "delete" (default): whiteouts delete what they name, for a snapshot that holds the whole tree.
   * "overlay": record them as overlayfs keeps them in an upperdir (0/0 character devices, the opaque
   * xattr), for a directory used as an overlay lowerdir above the layers below it.
   */
  whiteouts?: "delete" | "overlay";
  /** Namespace of the opaque xattr in "overlay" mode: "trusted" (default) or "user" (userxattr mounts). */
  overlayXattrNamespace?: "trusted" | "user";
  /**
   * What a hard link to a name this layer has not written is: an error (default), or, with "defer", a
   * link to a lower layer's file, reported in `lowerLinks` (for a layer unpacked on its own).
   */
  linksToLower?: "error" | "defer";
  /**
   * The layers below as one tree (read only, never written): parents are resolved through it, so an
   * entry under a lower symlink lands at its target (only with whiteouts "overlay").
   */
  lower?: string;
  /**
   * An archive of a plain directory (a cache mount's, handed in by --cache-from): device nodes, fifos
   * and whiteouts are refused, as such a directory never holds them.
   */
  plainTree?: boolean;
  /** Refuses a layer whose uncompressed tar is longer than this many bytes (a bomb is cut off early). */
  maxBytes?: number;
}

/** Directories (relative to the root) the layer needed but did not have, as a layer alone sees it. */
export interface LowerPaths {
  /** Made to hold an entry, though the layer has no entry for them. */
  created: string[];
  /** Looked up (a hard link target's directory) and not found. */
  missing: string[];
}

/** A hard link whose target is in a lower layer: `path` (where the link is, as this layer's directory
 * has it after resolving its parents) is to become `target` (the link name, as the tar wrote it). */
export interface LowerLink {
  path: string;
  target: string;
}

export interface AppliedLayer {
  /** sha256 of the uncompressed tar, to check against the image config's rootfs.diff_ids. */
  diffId: Digest;
  uncompressedSize: number;
  entries: number;
  /** What could not be applied as written (xattrs the file system refused, devices when not root). */
  warnings: string[];
  /** Hard links to lower layers' files, in tar order (only with linksToLower "defer"). */
  lowerLinks: LowerLink[];
  /** See LowerPaths (empty when unpacked with `lower`). */
  lowerPaths: LowerPaths;
}

interface PendingDir {
  path: string;
  real: string;
  ino: number;
  mode: number;
  mtime: Timestamp;
}

const isRoot = process.getuid?.() === 0;

function seconds(t: Timestamp): number {
  return t.sec + t.nsec / 1e9;
}

function hostile(entry: TarEntry, what: string): UserError {
  return new UserError(`layer entry ${JSON.stringify(entry.name)}: ${what}`, {
    hint: "the layer is malformed or hostile; nothing was written outside the snapshot, but the snapshot is incomplete and must be discarded",
  });
}

class Applier {
  readonly options: ApplyOptions;
  readonly resolver: RootResolver;
  readonly warnings: string[] = [];
  /** Real paths this layer wrote, which an opaque marker of the same layer must keep. */
  readonly unpacked = new Set<string>();
  readonly dirs: PendingDir[] = [];
  /** Deferred links to lower layers by the host path they are to take; a later entry there cancels one. */
  readonly lowerLinks = new Map<string, LowerLink>();
  readonly created = new Set<string>();
  readonly missing = new Set<string>();
  /** Directories made for an entry below a lower directory, to get its times once all is written. */
  readonly lowerDirs: LowerDir[] = [];
  entries = 0;

  constructor(options: ApplyOptions, root: string) {
    this.options = options;
    const lower = options.lower;
    this.resolver = new RootResolver(root, {
      ...(lower === undefined
        ? {
            created: (rel) => this.created.add(rel),
            missing: (rel) => this.missing.add(rel),
          }
        : {
            lower,
            opaqueXattr: this.opaqueXattr(),
            created: (rel, from) => {
              if (from === null) return;
              const dir = { real: `${root}/${rel}`, from: from.path, stats: from.stats };
              copyLowerDirMetadata(dir, false);
              this.lowerDirs.push(dir);
            },
          }),
    });
  }

  opaqueXattr(): string {
    return `${this.options.overlayXattrNamespace ?? "trusted"}.overlay.opaque`;
  }

  async apply(entry: TarEntry): Promise<void> {
    this.entries++;
    const path = cleanLayerPath(entry.name);
    if (path === null) throw hostile(entry, 'its name climbs out of the layer with ".."');
    if (path === "") return; // the root itself: its metadata belongs to the snapshot, as in containerd
    const marker = classifyWhiteout(path);
    if (this.options.plainTree && (marker !== null || ["char", "block", "fifo"].includes(entry.type)))
      throw hostile(entry, "an archive of a directory holds no device nodes, fifos or whiteouts");
    if (marker?.kind === "meta") return;
    if (marker?.kind === "opaque") return this.opaque(entry, marker.dir);
    if (marker?.kind === "whiteout") return this.whiteout(entry, marker.target);
    const parent = this.resolver.resolveDir(parentPath(path), true, entry.name)!;

    const target = `${parent}/${baseName(path)}`;
    this.lowerLinks.delete(target);
    const existing = lstatSync(target, { throwIfNoEntry: false });
    if (existing !== undefined && !(existing.isDirectory() && entry.type === "dir")) this.remove(target);

    switch (entry.type) {
      case "dir":
        if (existing === undefined || !existing.isDirectory()) mkdirSync(target, { mode: 0o700 });
        break;
      case "file":
        await writeNewFile(target, entry.body);
        break;
      case "symlink":
        symlinkSync(entry.linkname, target);
        break;
      case "hardlink":
        this.hardlink(entry, target);
        this.unpacked.add(target);
        return; // a link shares its target's inode and metadata
      case "char":
      case "block":
        if (!isRoot) {
          this.warnings.push(`${path}: device node skipped (creating devices needs root)`);
          return;
        }
        await makeSpecialFile(target, entry.type, entry.devmajor, entry.devminor);
        break;
      case "fifo":
        await makeSpecialFile(target, "fifo");
        break;
    }
    this.metadata(path, target, entry);
    this.unpacked.add(target);
  }

  remove(real: string): void {
    // rm never follows symlinks: a link is removed, not what it points to.
    rmSync(real, { recursive: true, force: true });
    this.resolver.forget();
    for (const key of this.lowerLinks.keys()) if (key.startsWith(`${real}/`)) this.lowerLinks.delete(key);
  }

  whiteout(entry: TarEntry, path: string): Promise<void> | undefined {
    const name = baseName(path);
    if (name === "" || name === "." || name === "..") throw hostile(entry, "whiteout names no file");
    // Deleting needs nothing created; recording an overlay whiteout needs its directory.
    const overlay = this.options.whiteouts === "overlay";
    const parent = this.resolver.resolveDir(parentPath(path), overlay, entry.name);
    if (parent === null) return undefined;
    const target = `${parent}/${name}`;
    this.lowerLinks.delete(target);
    if (lstatSync(target, { throwIfNoEntry: false }) !== undefined) this.remove(target);
    return overlay ? makeSpecialFile(target, "char", 0, 0) : undefined;
  }

  opaque(entry: TarEntry, dir: string): void {
    const overlay = this.options.whiteouts === "overlay";
    const real = this.resolver.resolveDir(dir, overlay, entry.name);
    if (real === null) return;
    if (overlay) {
      writeXattr(real, this.opaqueXattr(), Buffer.from("y"));
      return;
    }
    for (const name of readdirSync(real)) {
      const child = `${real}/${name}`;
      if (!this.unpacked.has(child)) this.remove(child);
    }
  }

  hardlink(entry: TarEntry, target: string): void {
    // Link names are layer paths like entry names: absolute means from the layer root.
    const linkPath = cleanLayerPath(entry.linkname);
    if (linkPath === null)
      throw hostile(entry, `hard link target ${JSON.stringify(entry.linkname)} is outside the layer`);
    if (linkPath === "") throw hostile(entry, "hard link to the root directory");
    const dir = this.resolver.resolveDir(parentPath(linkPath), false, entry.name);
    const source = dir === null ? null : `${dir}/${baseName(linkPath)}`;
    const stats = source === null ? undefined : lstatSync(source, { throwIfNoEntry: false });
    if ((source === null || stats === undefined) && this.options.linksToLower === "defer") {
      this.lowerLinks.set(target, { path: target.slice(this.resolver.root.length + 1), target: linkPath });
      return;
    }
    if (source === null || stats === undefined) {
      throw new UserError(
        `layer entry ${JSON.stringify(entry.name)}: hard link target ${JSON.stringify(entry.linkname)} does not exist`,
        { hint: "a hard link must name a file written earlier in the same layer or in a layer below" },
      );
    }
    if (stats.isDirectory()) throw hostile(entry, "hard link to a directory");
    // link(2) does not follow a symlink it is given, so this links the entry itself, never a host file.
    linkSync(source, target);
  }

  metadata(path: string, target: string, entry: TarEntry): void {
    // Order matters: chown clears setuid bits and security.capability, so it comes first.
    if (isRoot) lchownSync(target, entry.uid, entry.gid);
    for (const [name, value] of entry.xattrs) {
      if (isOverlayPrivate(name)) continue;
      try {
        writeXattr(target, name, value);
      } catch (err) {
        this.warnings.push(`${path}: xattr ${name} not applied (${(err as Error).message})`);
        if (isRoot && xattrErrno(err) !== 95 && xattrErrno(err) !== 1) throw err;
      }
    }
    if (entry.type === "dir") {
      // A directory's mode and times are set last: writing its children would change its mtime, and a
      // read-only mode would stop them being written when not root.
      const ino = lstatSync(target).ino;
      this.dirs.push({ path, real: target, ino, mode: entry.mode, mtime: entry.mtime });
      return;
    }
    chmodNoFollow(target, entry.mode);
    const t = seconds(entry.mtime);
    lutimesSync(target, t, t);
  }

  finishDirs(): void {
    for (const dir of this.dirs) {
      // Re-resolved inside the root: a later entry may have replaced the directory, even by a symlink.
      const parent = this.resolver.resolveDir(parentPath(dir.path), false, dir.path);
      const real = parent === null ? null : `${parent}/${baseName(dir.path)}`;
      const stats = real === null ? undefined : lstatSync(real, { throwIfNoEntry: false });
      if (real === null || stats === undefined || !stats.isDirectory() || stats.ino !== dir.ino) continue;
      chmodNoFollow(real, dir.mode);
      const t = seconds(dir.mtime);
      lutimesSync(real, t, t);
    }
    // Deepest first: setting a directory's times is the last write into its parent.
    for (const dir of this.lowerDirs.reverse()) copyLowerDirMetadata(dir, true);
  }
}

export async function applyLayer(
  blob: AsyncIterable<Uint8Array>,
  options: ApplyOptions,
): Promise<AppliedLayer> {
  const root = await realpath(options.root);
  const applier = new Applier(options, root);
  const digester = new Digester("sha256");
  const tar = await decompressedLayer(blob);
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const hashed = (async function* () {
    for await (const chunk of tar) {
      digester.update(chunk);
      if (digester.size > maxBytes)
        throw new UserError(`the archive unpacks to more than ${maxBytes} bytes`, {
          hint: "it is not one polyarch wrote within its bounds; nothing was written outside its directory",
        });
      yield chunk as Buffer;
    }
  })();
  for await (const entry of readTar(hashed)) {
    try {
      await applier.apply(entry);
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new Error(`applying layer entry ${JSON.stringify(entry.name)}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  applier.finishDirs();
  return {
    diffId: digester.digest(),
    uncompressedSize: digester.size,
    entries: applier.entries,
    warnings: applier.warnings,
    lowerLinks: [...applier.lowerLinks.values()],
    lowerPaths: { created: [...applier.created], missing: [...applier.missing] },
  };
}
