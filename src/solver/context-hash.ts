/**
 * The digest of a local source's selection: for every selected path, in order, its type, permission bits,
 * owner, link target and (for files) the sha256 of its content. Never the mtime: touching a file without
 * changing it keeps the key, and changing a file within the same second changes it.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import pLimit from "p-limit";
import type { LocalSelection } from "./types.ts";

/** Files up to this size are read in one call; bigger ones are streamed. */
const smallFile = 1024 * 1024;

/** Content digests by absolute path, shared by the local sources of one build (files are read once). */
export type FileHashMemo = Map<string, Promise<string>>;

function fileDigest(path: string, size: number, memo: FileHashMemo): Promise<string> {
  let p = memo.get(path);
  if (!p) {
    p = (async () => {
      const h = createHash("sha256");
      if (size <= smallFile) h.update(await readFile(path));
      else for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
      return h.digest("hex");
    })();
    memo.set(path, p);
  }
  return p;
}

export async function hashSelection(
  selection: LocalSelection,
  memo: FileHashMemo = new Map(),
): Promise<string> {
  const limit = pLimit(16);
  const contents = await Promise.all(
    selection.files.map((f) =>
      f.type === "file" ? limit(() => fileDigest(join(selection.root, f.path), f.size, memo)) : "",
    ),
  );
  const h = createHash("sha256");
  selection.files.forEach((f, i) => {
    const perm = f.mode & 0o7777;
    const what = f.type === "file" ? contents[i] : f.type === "symlink" ? (f.linkTarget ?? "") : "";
    // NUL separates fields: no path or link target can contain one.
    h.update(`${f.path}\0${f.type}\0${perm.toString(8)}\0${f.uid}:${f.gid}\0${what}\n`);
  });
  return `sha256:${h.digest("hex")}`;
}
