/**
 * The times of the destination directories a COPY did not copy from a source: the ones it made
 * (`COPY a.txt /opt/app/` makes /opt and /opt/app) and the existing ones it put new entries into (whose
 * mtime the kernel bumps to "now").
 *
 * BuildKit leaves the build's wall-clock time on both, so a layer's bytes depend on when it was built:
 * two platforms' identical COPY layers differ as soon as their copies straddle a second, and a clean
 * rebuild never gives the same digest. Here a layer depends only on what was copied:
 * - a directory the COPY made gets the newest mtime among the copy's sources (what it was made to hold);
 * - an existing directory it added entries to keeps the mtime it had, so it is in the layer only if
 *   something else about it changed (its owner, its mode).
 * A SOURCE_DATE_EPOCH clamp still applies on export. Directories whose metadata the copy took from a
 * source directory (`COPY dir/ /dest/`) are left as the copier set them.
 */
import { lstatSync, lutimesSync } from "node:fs";
import { secondsOf } from "./metadata.ts";

interface Recorded {
  ino: bigint;
  /** The time to restore, or undefined for a made directory (it gets the sources' time). */
  mtimeNs: bigint | undefined;
}

export class DestDirTimes {
  readonly #dirs = new Map<string, Recorded>();
  #sourceTimeNs: bigint | undefined;

  /** A directory this copy made (host path, resolved in the destination root). */
  made(host: string): void {
    if (this.#dirs.has(host)) return;
    this.#dirs.set(host, { ino: lstatSync(host, { bigint: true }).ino, mtimeNs: undefined });
  }

  /** An existing directory about to get a new entry; its time before the first change is kept. */
  touching(host: string): void {
    if (this.#dirs.has(host)) return;
    const stats = lstatSync(host, { bigint: true, throwIfNoEntry: false });
    if (stats?.isDirectory()) this.#dirs.set(host, { ino: stats.ino, mtimeNs: stats.mtimeNs });
  }

  /** The copier gave this directory a source's metadata: that stands. */
  copiedOnto(host: string): void {
    this.#dirs.delete(host);
  }

  /** One of the copy's sources (lstat'ed in its tree). */
  source(mtimeNs: bigint): void {
    if (this.#sourceTimeNs === undefined || mtimeNs > this.#sourceTimeNs) this.#sourceTimeNs = mtimeNs;
  }

  /** Sets the times, once every entry is written (a later write would bump a parent's mtime again). */
  apply(): void {
    for (const [host, recorded] of this.#dirs) {
      const ns = recorded.mtimeNs ?? this.#sourceTimeNs;
      if (ns === undefined) continue;
      // Only the very directory recorded: never a link or another entry put there since.
      const now = lstatSync(host, { bigint: true, throwIfNoEntry: false });
      if (!now?.isDirectory() || now.ino !== recorded.ino) continue;
      lutimesSync(host, secondsOf(ns), secondsOf(ns));
    }
  }
}
