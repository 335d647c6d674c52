/**
 * Snapshots give a RUN step a writable root filesystem on top of a chain of layer directories, and turn
 * what the step changed into a new layer directory.
 *
 * A layer directory is in overlayfs's format, whichever snapshotter made it: a deleted path is a
 * character device 0:0 of the same name (a whiteout), and a directory whose lower contents are hidden
 * carries the xattr `trusted.overlay.opaque=y`. The differ (worker/layer) turns one into a layer tar,
 * and the unpacker writes base layers in the same format so that they can be stacked as lowerdirs.
 */
export interface ActiveSnapshot {
  key: string;
  /** The root filesystem to run in (an overlay mount point, or a materialised copy). */
  rootfs: string;
  /** Unmounts (overlay) without discarding the changes; commit() or remove() come next. Idempotent. */
  release(): Promise<void>;
}

/**
 * An overlay left for the runtime to mount inside the container's own mount namespace: saves the host a
 * mount and an unmount per RUN step, and nothing stays mounted once the container is gone.
 */
export interface OverlayRoot {
  /** Layer directories, bottom first (the exec mount-point layer included). */
  lowers: string[];
  upper: string;
  work: string;
  /** Mount options beside lowerdir/upperdir/workdir. */
  options: string[];
}

/** A snapshot for a RUN step: either a mounted or materialised rootfs path, or an overlay to mount. */
export interface ExecSnapshot {
  key: string;
  root: string | OverlayRoot;
  /** As ActiveSnapshot.release; nothing to do for an unmounted overlay. */
  release(): Promise<void>;
}

export interface PrepareOptions {
  /**
   * For a RUN step: the overlay snapshotter puts a shared layer of empty mount points (/proc, /dev,
   * /sys, /etc/hosts, /etc/resolv.conf) beneath the parents, so runc finds them and creates nothing in
   * the step's upper dir (where its stubs would otherwise change /etc's mtime). Any real layer hides
   * them; the merged view shows them only where the image has none. Not for snapshots whose files are
   * read as content (COPY sources), which would see those empty entries.
   */
  forExec?: boolean;
}

/** The mount points PrepareOptions.forExec provides, and whether each is a directory. */
export const execMountPoints: readonly { path: string; dir: boolean }[] = [
  { path: "proc", dir: true },
  { path: "dev", dir: true },
  { path: "sys", dir: true },
  { path: "etc/hosts", dir: false },
  { path: "etc/resolv.conf", dir: false },
];

export interface Snapshotter {
  readonly kind: "overlay" | "copy";
  /** A writable snapshot over `parents`, layer directories ordered bottom (base) first. */
  prepare(key: string, parents: readonly string[], options?: PrepareOptions): Promise<ActiveSnapshot>;
  /** A snapshot for a RUN step (as prepare with forExec), left unmounted where the runtime can mount it. */
  prepareExec(key: string, parents: readonly string[]): Promise<ExecSnapshot>;
  /** Freezes the snapshot's changes into an immutable layer directory and returns its path. */
  commit(key: string): Promise<string>;
  /** Unmounts and deletes a snapshot and its committed layer, if any (the deletion may finish later). */
  remove(key: string): Promise<void>;
  /** Resolves once the deletions of remove() and commit() have reached the disk. */
  settle(): Promise<void>;
}

const safeKey = /^[A-Za-z0-9_.:@+-]{1,200}$/;

/** Keys become directory names, so they may not name a path. */
export function checkSnapshotKey(key: string): string {
  if (!safeKey.test(key) || key === "." || key === "..")
    throw new Error(`invalid snapshot key ${JSON.stringify(key)}`);
  return key;
}
