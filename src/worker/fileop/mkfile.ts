/**
 * mkfile (here-documents): writes the text to a new file next to the path and renames it into place, so
 * whatever stood there (a file, a link, a fifo or device node from a hostile image) is replaced rather than
 * opened and written through. The path is resolved in the destination as if it were "/"; its parent must
 * exist (BuildKit does not make it either).
 */
import { randomBytes } from "node:crypto";
import { lchownSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { chmodNoFollow } from "../../fsutil/no-follow.ts";
import type { ActionEnv } from "./context.ts";
import { fileOpError } from "./errors.ts";
import { resolveOwner } from "./owner.ts";
import { isRoot, lstatIfExists, parentPath, resolveInRoot } from "./root-path.ts";
import type { MkfileAction } from "./types.ts";

export function mkfileAction(action: MkfileAction, destRoot: string, env: ActionEnv): void {
  const owner = resolveOwner(action.owner, destRoot, env);
  const target = resolveInRoot(destRoot, action.path);
  if (target.logical === "/")
    throw fileOpError(env, `cannot write file ${action.path}: it is the root directory`);
  const parent = resolveInRoot(destRoot, parentPath(target.logical));
  if (!lstatIfExists(parent.host)?.isDirectory()) {
    throw fileOpError(
      env,
      `cannot write file ${action.path}: ${parent.logical} does not exist or is not a directory`,
    );
  }
  const staged = `${parent.host}/.polyarch-mkfile-${randomBytes(6).toString("hex")}`;
  try {
    writeFileSync(staged, action.data, { flag: "wx", mode: 0o600 });
    if (owner && isRoot) lchownSync(staged, owner.uid, owner.gid);
    chmodNoFollow(staged, action.mode & 0o777);
    renameSync(staged, target.host);
  } catch (err) {
    rmSync(staged, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EISDIR" || code === "ENOTEMPTY" || code === "EEXIST") {
      throw fileOpError(env, `cannot write file ${action.path}: a directory is in the way`);
    }
    throw err;
  }
}
