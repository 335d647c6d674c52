/**
 * A local source: the files it selects, copied into a layer directory named by their content digest (so
 * an unchanged selection is copied once and shared by every build). Modes, owners, times and symlinks are
 * kept as they are on disk; whether a COPY gives them to root is the file op's business.
 */
import { constants } from "node:fs";
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import pLimit from "p-limit";
import { acquireForStep } from "./lock-wait.ts";
import type { RunEnv } from "./run-env.ts";
import type { LocalSelection } from "./types.ts";

export async function runLocal(
  env: RunEnv,
  id: string,
  name: string,
  selection: LocalSelection,
): Promise<string[]> {
  if (await env.ws.exists(name)) return [name];
  const lock = await acquireForStep(env, name, id, "the same build context");
  try {
    if (lock.waited && (await env.ws.exists(name))) return [name];
    await env.ws.fillNewDir("local", name, (root) => copySelection(selection, root, env.signal));
    return [name];
  } finally {
    await lock.release();
  }
}

/** Copies the listed entries (parents are listed before their children) with their metadata. */
export async function copySelection(
  selection: LocalSelection,
  dest: string,
  signal?: AbortSignal,
): Promise<void> {
  const limit = pLimit(8);
  const dirs: { path: string; atime: Date; mtime: Date }[] = [];
  const files: Promise<void>[] = [];
  let walkError: unknown;
  await copyEntries(selection, dest, dirs, files, limit, signal).catch((e) => {
    walkError = e;
  });
  // Never return (and let the caller delete the snapshot) while copies are still writing into it.
  const settled = await Promise.allSettled(files);
  const failed = settled.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
  if (walkError !== undefined || failed) throw walkError ?? failed!.reason;
  for (const d of dirs.reverse()) await lutimes(d.path, d.atime, d.mtime);
}

async function copyEntries(
  selection: LocalSelection,
  dest: string,
  dirs: { path: string; atime: Date; mtime: Date }[],
  files: Promise<void>[],
  limit: ReturnType<typeof pLimit>,
  signal: AbortSignal | undefined,
): Promise<void> {
  for (const f of selection.files) {
    signal?.throwIfAborted();
    const from = join(selection.root, f.path);
    const to = join(dest, f.path);
    if (f.type === "dir") {
      // Directories are made in order (a child's parent already exists); their times are set last.
      await mkdir(to, { mode: 0o700 });
      const st = await lstat(from);
      await lchown(to, f.uid, f.gid);
      await chmod(to, f.mode & 0o7777);
      dirs.push({ path: to, atime: st.atime, mtime: st.mtime });
    } else if (f.type === "symlink") {
      const st = await lstat(from);
      await symlink(f.linkTarget ?? "", to);
      await lchown(to, f.uid, f.gid);
      await lutimes(to, st.atime, st.mtime);
    } else if (f.type === "file") {
      files.push(
        limit(async () => {
          // A reflink where the file system can; the file's bytes are never read into memory.
          await copyFile(from, to, constants.COPYFILE_FICLONE);
          const st = await lstat(from);
          await lchown(to, f.uid, f.gid);
          await chmod(to, f.mode & 0o7777);
          await lutimes(to, st.atime, st.mtime);
        }),
      );
    }
  }
}
