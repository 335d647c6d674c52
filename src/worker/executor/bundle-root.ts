import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, lstat, mkdir, rm, rmdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { UserError } from "../../errors/user-error.ts";

/**
 * Where runtime bundles live. A bundle's config.json holds the step's environment, secrets passed as
 * variables (RUN --mount=type=secret,env=…) included, so the directory is 0700 and owned by us: no other
 * local user may read it, or have made it beforehand (a name on /dev/shm is anyone's to take).
 *
 * Bundles live for one step and hold a few small files: on memory-backed /dev/shm their writes and removal
 * cost no disk I/O, which on a slow disk was most of a step's overhead beside `runc run`. One directory per
 * state root, so two state roots never share bundles; it is removed again when the last bundle goes.
 */
export function defaultBundleRoot(stateRoot: string): string {
  if (!existsSync("/dev/shm")) return join(stateRoot, "bundles");
  const tag = createHash("sha256").update(resolve(stateRoot)).digest("hex").slice(0, 16);
  return join("/dev/shm", `polyarch-bundles-${tag}`);
}

async function privateRoot(root: string): Promise<void> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const st = await lstat(root);
  const uid = process.getuid?.() ?? 0;
  if (!st.isDirectory() || st.uid !== uid) {
    throw new UserError(`the runtime bundle directory ${root} is not a directory of this user (uid ${uid})`, {
      hint: "another user made it, or it was replaced by a link; remove it and run the build again",
    });
  }
  // mkdir's mode is masked by the umask and says nothing of a directory that was there already.
  if ((st.mode & 0o777) !== 0o700) await chmod(root, 0o700);
}

/** Makes the bundle directory `root/id` (0700) and its private root. */
export async function makeBundleDir(root: string, id: string): Promise<string> {
  const bundle = join(root, id);
  // A concurrent step's removeBundleDir (in this process or another on the same state root) may remove
  // the empty root at any moment until our bundle is in it: from making it to checking it to the mkdir of
  // the bundle. Each of those then fails with ENOENT, and the root is made again.
  for (let attempt = 0; ; attempt++) {
    try {
      await privateRoot(root);
      await mkdir(bundle, { mode: 0o700 });
      return bundle;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 20) throw e;
    }
  }
}

/** Removes a bundle, and the root too once no other bundle is in it. */
export async function removeBundleDir(root: string, id: string): Promise<void> {
  await rm(join(root, id), { recursive: true, force: true });
  await rmdir(root).catch(() => {
    // Not empty (another step's bundle) or already gone.
  });
}
