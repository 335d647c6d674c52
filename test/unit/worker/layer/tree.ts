/**
 * Test support: a comparable description of a directory tree (what a user of the snapshot would see),
 * so two trees can be checked equal with one deepEqual.
 */
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { getAttributeSync, listAttributesSync } from "@napi-rs/xattr";

export interface NodeInfo {
  type: string;
  mode: string;
  owner: string;
  sha256?: string;
  linkname?: string;
  rdev?: number;
  xattrs?: Record<string, string>;
  mtime?: number;
  /** For the second and later paths of one inode: the first path (in sorted order). */
  hardlinkOf?: string;
}

export interface DescribeOptions {
  /** Compare mtimes in whole seconds (default true); directories included unless dirMtimes is false. */
  mtimes?: boolean;
  dirMtimes?: boolean;
  /** Skip ownership (for rootless runs). */
  owners?: boolean;
  /** xattr names to ignore (default: overlay's own and SELinux labels). */
  ignoreXattr?: (name: string) => boolean;
}

const defaultIgnore = (name: string) =>
  name.startsWith("trusted.overlay.") || name.startsWith("user.overlay.") || name === "security.selinux";

function typeOf(st: ReturnType<typeof lstatSync> & object): string {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "dir";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isCharacterDevice()) return "char";
  if (st.isBlockDevice()) return "block";
  if (st.isFIFO()) return "fifo";
  return "other";
}

export function describeTree(root: string, options: DescribeOptions = {}): Record<string, NodeInfo> {
  const out: Record<string, NodeInfo> = {};
  const inodes = new Map<string, string>();
  const ignore = options.ignoreXattr ?? defaultIgnore;
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const path = rel === "" ? name : `${rel}/${name}`;
      const st = lstatSync(abs);
      const info: NodeInfo = {
        type: typeOf(st),
        mode: (st.mode & 0o7777).toString(8),
        owner: options.owners === false ? "-" : `${st.uid}:${st.gid}`,
      };
      if (info.type === "symlink") info.mode = "-";
      if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? inodes.get(key) : undefined;
        if (first !== undefined) info.hardlinkOf = first;
        else {
          if (st.nlink > 1) inodes.set(key, path);
          info.sha256 = createHash("sha256").update(readFileSync(abs)).digest("hex");
        }
      }
      if (st.isSymbolicLink()) info.linkname = readlinkSync(abs);
      if (st.isCharacterDevice() || st.isBlockDevice()) info.rdev = st.rdev;
      const names = listAttributesSync(abs)
        .filter((n) => !ignore(n))
        .sort();
      if (names.length > 0) {
        info.xattrs = Object.fromEntries(
          names.map((n) => [n, getAttributeSync(abs, n)?.toString("hex") ?? ""]),
        );
      }
      const wantTime = options.mtimes !== false && (info.type !== "dir" || options.dirMtimes !== false);
      if (wantTime) info.mtime = Math.floor(st.mtimeMs / 1000);
      out[path] = info;
      if (st.isDirectory()) walk(abs, path);
    }
  };
  walk(root, "");
  return out;
}
