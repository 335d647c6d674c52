/**
 * A local source: the files it selects, copied into a layer directory named by their content digest (so
 * an unchanged selection is copied once and shared by every build). Modes, owners, times and symlinks are
 * kept as they are on disk; whether a COPY gives them to root is the file op's business.
 *
 * The context is the user's directory and may hold links to anywhere (a cloned repository's
 * `config -> /etc/shadow`). A link is copied as a link; a file is read only if it is still the regular
 * file the listing saw (opened without following a link), so a file swapped for a link after the listing
 * never makes the build read a host file. Nothing here changes anything in the context.
 */
import { constants } from "node:fs";
import { copyFile, type FileHandle, lchown, lstat, lutimes, mkdir, open, symlink } from "node:fs/promises";
import { join } from "node:path";
import pLimit from "p-limit";
import { UserError } from "../errors/user-error.ts";
import { chmodNoFollow } from "../fsutil/no-follow.ts";
import { acquireForStep } from "./lock-wait.ts";
import type { RunEnv } from "./run-env.ts";
import type { LocalSelection } from "./types.ts";

export async function runLocal(
  env: RunEnv,
  id: string,
  name: string,
  selection: LocalSelection,
): Promise<string[]> {
  if (await env.worker.hasSnapshot(name)) return [name];
  const lock = await acquireForStep(env, name, id, "the same build context");
  try {
    if (lock.waited && (await env.worker.hasSnapshot(name))) return [name];
    await env.worker.newSnapshot("local", name, async (root) => {
      await selection.materialize?.();
      await copySelection(selection, root, env.signal);
    });
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
      chmodNoFollow(to, f.mode & 0o7777);
      dirs.push({ path: to, atime: st.atime, mtime: st.mtime });
    } else if (f.type === "symlink") {
      const st = await lstat(from);
      await symlink(f.linkTarget ?? "", to);
      await lchown(to, f.uid, f.gid);
      await lutimes(to, st.atime, st.mtime);
    } else if (f.type === "file") {
      files.push(
        limit(async () => {
          const source = await openListedFile(selection.root, f.path);
          try {
            // A reflink where the file system can; the file's bytes are never read into memory. The copy
            // reads the descriptor opened above (through /proc), and never writes through an existing name.
            const flags = constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL;
            await copyFile(`/proc/self/fd/${source.fd}`, to, flags);
            const st = await source.stat();
            await lchown(to, f.uid, f.gid);
            chmodNoFollow(to, f.mode & 0o7777);
            await lutimes(to, st.atime, st.mtime);
          } finally {
            await source.close();
          }
        }),
      );
    }
  }
}

/** Opens a context file the listing saw as a regular file, without following a link at its name. */
async function openListedFile(root: string, path: string): Promise<FileHandle> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(join(root, path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    if ((await handle.stat()).isFile()) return handle;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ELOOP" && code !== "ENOENT" && code !== "ENOTDIR" && code !== "ENXIO") throw e;
  }
  await handle?.close();
  throw new UserError(`the build context changed while it was read: ${path} is no longer a regular file`, {
    hint: "do not change the context directory during a build; run the build again",
  });
}
