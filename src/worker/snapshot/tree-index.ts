import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";

/** What the copy snapshotter remembers of each path to tell, after a step, whether the step touched it. */
export interface EntryState {
  type: "dir" | "file" | "symlink" | "other";
  ino: bigint;
  /** ctime changes on every write and metadata change and cannot be set back by the step. */
  ctimeNs: bigint;
  mtimeNs: bigint;
  size: bigint;
  mode: number;
  uid: number;
  gid: number;
  rdev: bigint;
  link?: string;
}

/** Relative path ("" for the root, then "etc", "etc/passwd"…) to its state, parents before children. */
export type TreeIndex = Map<string, EntryState>;

function typeOf(st: {
  isDirectory(): boolean;
  isFile(): boolean;
  isSymbolicLink(): boolean;
}): EntryState["type"] {
  if (st.isDirectory()) return "dir";
  if (st.isFile()) return "file";
  if (st.isSymbolicLink()) return "symlink";
  return "other";
}

export async function entryState(path: string): Promise<EntryState> {
  const st = await lstat(path, { bigint: true });
  const state: EntryState = {
    type: typeOf(st),
    ino: st.ino,
    ctimeNs: st.ctimeNs,
    mtimeNs: st.mtimeNs,
    size: st.size,
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    rdev: st.rdev,
  };
  if (state.type === "symlink") state.link = await readlink(path);
  return state;
}

/** Walks a tree without following symlinks. */
export async function indexTree(root: string): Promise<TreeIndex> {
  const index: TreeIndex = new Map();
  const visit = async (rel: string) => {
    const state = await entryState(rel === "" ? root : join(root, rel));
    index.set(rel, state);
    if (state.type !== "dir") return;
    const names = (await readdir(rel === "" ? root : join(root, rel))).sort();
    for (const name of names) await visit(rel === "" ? name : `${rel}/${name}`);
  };
  await visit("");
  return index;
}

export function sameEntry(a: EntryState, b: EntryState): boolean {
  return (
    a.type === b.type &&
    a.ino === b.ino &&
    a.ctimeNs === b.ctimeNs &&
    a.mtimeNs === b.mtimeNs &&
    a.size === b.size &&
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    a.rdev === b.rdev &&
    a.link === b.link
  );
}

export interface TreeChanges {
  /** Paths to copy into the layer as they are now, parents before children (ancestors included). */
  copy: string[];
  /** Paths to mark deleted: only the topmost of a deleted subtree. */
  whiteouts: string[];
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf("/");
  return i < 0 ? "" : rel.slice(0, i);
}

/**
 * What changed between `before` and `after`, in overlay terms. A directory that was removed and made
 * again counts as changed, and its old children that are gone get whiteouts of their own, which is what
 * an opaque directory would say, without needing xattrs.
 */
export function diffTrees(before: TreeIndex, after: TreeIndex): TreeChanges {
  const changed = new Set<string>();
  for (const [rel, now] of after) {
    if (rel === "") continue;
    const was = before.get(rel);
    if (!was || !sameEntry(was, now)) changed.add(rel);
  }
  const whiteouts: string[] = [];
  for (const rel of before.keys()) {
    if (rel === "" || after.has(rel)) continue;
    const parent = parentOf(rel);
    // Below a deleted directory, one whiteout for the directory says it all.
    if (parent !== "" && !after.has(parent) && before.get(parent)?.type === "dir") continue;
    // A non-directory that became a directory (or the reverse) is replaced by the new entry itself.
    if (after.get(parent)?.type !== "dir" && parent !== "") continue;
    whiteouts.push(rel);
  }
  // Every changed path and every whiteout needs its ancestors in the layer, with their current metadata.
  const needed = new Set<string>(changed);
  for (const rel of [...changed, ...whiteouts]) {
    for (let p = parentOf(rel); p !== ""; p = parentOf(p)) needed.add(p);
  }
  const copy = [...after.keys()].filter((rel) => rel !== "" && needed.has(rel));
  return { copy, whiteouts };
}
