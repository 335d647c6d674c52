import { mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { UserError } from "../../errors/user-error.ts";
import type { Descriptor } from "../descriptor.ts";
import { digestAlgorithm } from "../digest.ts";
import { type ImageIndex, parseIndex, serializeIndex } from "../manifest.ts";
import type { LayoutBlobInput } from "./blob-input.ts";
import { fsyncDir, tempSuffix, writeFileAtomic } from "./fs-atomic.ts";
import {
  blobRelativePath,
  blobsDirName,
  indexFileName,
  layoutFileBytes,
  layoutFileName,
  refNameAnnotation,
} from "./spec.ts";
import { writeBlobFile } from "./write-blob.ts";

export interface WriteDirOptions {
  /** Drop the entries an existing layout's index.json has instead of keeping them beside the new ones. */
  replaceIndex?: boolean;
}

/**
 * Writes a layout directory so that no reader ever sees an index.json naming a blob that is not fully
 * there. A new (or empty) directory is assembled next to its destination and renamed into place in one
 * step. An existing layout gets its missing blobs one atomic rename each, then a new index.json last; its
 * other entries are kept, except those whose ref name a new entry takes over (as skopeo does).
 */
export async function writeLayoutDirectory(
  dir: string,
  blobs: LayoutBlobInput[],
  index: ImageIndex,
  options: WriteDirOptions = {},
): Promise<void> {
  const state = await destinationState(dir);
  if (state === "fresh") await writeFresh(dir, blobs, index);
  else await mergeInto(dir, blobs, index, options);
}

async function destinationState(dir: string): Promise<"fresh" | "layout"> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "fresh";
    if (code === "ENOTDIR") {
      throw new UserError(`${dir} exists and is not a directory`, {
        hint: "choose another destination for the OCI layout, or remove the file",
      });
    }
    throw e;
  }
  if (names.length === 0) return "fresh";
  if (names.includes(layoutFileName)) return "layout";
  throw new UserError(`${dir} is not empty and is not an OCI image layout`, {
    hint: "choose an empty or new directory, or an existing OCI layout to add to",
  });
}

async function writeFresh(dir: string, blobs: LayoutBlobInput[], index: ImageIndex): Promise<void> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${basename(dir)}.tmp-${tempSuffix()}`);
  try {
    const algorithmDirs = new Set<string>();
    await mkdir(join(tmp, blobsDirName), { recursive: true });
    for (const blob of blobs) {
      const algDir = join(tmp, blobsDirName, digestAlgorithm(blob.descriptor.digest));
      if (!algorithmDirs.has(algDir)) {
        await mkdir(algDir, { recursive: true });
        algorithmDirs.add(algDir);
      }
      await writeBlobFile(blob, join(tmp, blobRelativePath(blob.descriptor.digest)), dir);
    }
    checkEntriesPresent(index, new Set(blobs.map((b) => b.descriptor.digest)), dir);
    await writeFileAtomic(join(tmp, layoutFileName), layoutFileBytes());
    await writeFileAtomic(join(tmp, indexFileName), serializeIndex(index));
    for (const d of algorithmDirs) await fsyncDir(d);
    await fsyncDir(join(tmp, blobsDirName));
    await fsyncDir(tmp);
    // rename(2) replaces an empty directory, so an existing empty destination is fine.
    await rename(tmp, dir);
    await fsyncDir(parent);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function mergeInto(
  dir: string,
  blobs: LayoutBlobInput[],
  index: ImageIndex,
  options: WriteDirOptions,
): Promise<void> {
  const indexPath = join(dir, indexFileName);
  let existing: Descriptor[] = [];
  try {
    existing = parseIndex(await readFile(indexPath), indexPath).manifests;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const incoming = new Set<string>(blobs.map((b) => b.descriptor.digest));
  for (const entry of index.manifests) {
    if (
      !incoming.has(entry.digest) &&
      (await stat(join(dir, blobRelativePath(entry.digest))).catch(() => undefined))
    ) {
      incoming.add(entry.digest);
    }
  }
  checkEntriesPresent(index, incoming, dir);
  const tmp = join(dir, `.tmp-${tempSuffix()}`);
  await mkdir(tmp);
  try {
    const touchedDirs = new Set<string>();
    for (const blob of blobs) {
      const { digest, size } = blob.descriptor;
      const final = join(dir, blobRelativePath(digest));
      const current = await stat(final).catch(() => undefined);
      // Content-addressed: the same name holds the same bytes.
      if (current?.isFile() && current.size === size) continue;
      const staged = join(tmp, "blob");
      await writeBlobFile(blob, staged, dir);
      await mkdir(dirname(final), { recursive: true });
      await rename(staged, final);
      touchedDirs.add(dirname(final));
    }
    for (const d of touchedDirs) await fsyncDir(d);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const merged = options.replaceIndex ? index.manifests : mergeEntries(existing, index.manifests);
  await writeFileAtomic(join(dir, layoutFileName), layoutFileBytes());
  await writeFileAtomic(indexPath, serializeIndex({ ...index, manifests: merged }));
}

/** Keeps the old entries a new one does not take over: same ref name, or same digest when both unnamed. */
export function mergeEntries(existing: Descriptor[], added: Descriptor[]): Descriptor[] {
  const nameOf = (d: Descriptor) => d.annotations?.[refNameAnnotation];
  const newNames = new Set(added.map(nameOf).filter((n) => n !== undefined));
  const newUnnamed = new Set(added.filter((d) => nameOf(d) === undefined).map((d) => d.digest));
  const kept = existing.filter((d) => {
    const name = nameOf(d);
    return name === undefined ? !newUnnamed.has(d.digest) : !newNames.has(name);
  });
  return [...kept, ...added];
}

function checkEntriesPresent(index: ImageIndex, present: Set<string>, where: string): void {
  for (const entry of index.manifests) {
    if (!present.has(entry.digest)) {
      throw new UserError(`${where}: index entry ${entry.digest} has no blob in the layout`, {
        hint: "add the manifest's blob before writing the layout (this is a bug in the caller)",
      });
    }
  }
}
