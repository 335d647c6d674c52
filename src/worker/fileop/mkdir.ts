/**
 * mkdir (WORKDIR, and BuildKit's llb.Mkdir): the path is resolved in the destination as if it were "/".
 * With makeParents every missing directory is made with the action's mode and owner and existing ones are
 * left alone; without, the parent must exist, and an existing path is left as it is (as BuildKit does).
 */
import { lchownSync, mkdirSync } from "node:fs";
import { chmodNoFollow } from "../../fsutil/no-follow.ts";
import type { ActionEnv } from "./context.ts";
import { fileOpError } from "./errors.ts";
import { resolveOwner } from "./owner.ts";
import { isRoot, lstatIfExists, mkdirAllInRoot, parentPath, resolveInRoot } from "./root-path.ts";
import type { MkdirAction } from "./types.ts";

export function mkdirAction(action: MkdirAction, destRoot: string, env: ActionEnv): void {
  const owner = resolveOwner(action.owner, destRoot, env);
  const mode = action.mode & 0o777;
  if (action.makeParents) {
    mkdirAllInRoot(destRoot, action.path, mode, owner);
    return;
  }
  const target = resolveInRoot(destRoot, action.path);
  if (lstatIfExists(target.host) !== undefined) return;
  const parent = resolveInRoot(destRoot, parentPath(target.logical));
  if (!lstatIfExists(parent.host)?.isDirectory()) {
    throw fileOpError(
      env,
      `cannot create directory ${action.path}: ${parent.logical} does not exist or is not a directory`,
      "create the parent directories first, or make them with the parents option",
    );
  }
  mkdirSync(target.host);
  if (owner && isRoot) lchownSync(target.host, owner.uid, owner.gid);
  chmodNoFollow(target.host, mode);
}
