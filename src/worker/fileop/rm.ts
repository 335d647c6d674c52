/**
 * rm: removes a path (and everything below it) from the destination. Directories on the way are resolved
 * as if the destination were "/"; the last name is never followed, so removing a symlink removes the
 * link, not what it points to. With allowWildcard the path may be a pattern (wildcard.ts), and a pattern
 * that matches nothing removes nothing.
 */
import { rmSync } from "node:fs";
import type { ActionEnv } from "./context.ts";
import { fileOpError } from "./errors.ts";
import { cleanLogical, lstatIfExists, parentPath, resolveInRoot } from "./root-path.ts";
import type { RmAction } from "./types.ts";
import { resolveWildcards } from "./wildcard.ts";

export function rmAction(action: RmAction, destRoot: string, env: ActionEnv): void {
  const paths = action.allowWildcard ? resolveWildcards(destRoot, action.path, false) : [action.path];
  for (const path of paths) removePath(destRoot, path, action.allowNotFound, env);
}

function removePath(root: string, path: string, allowNotFound: boolean, env: ActionEnv): void {
  const clean = cleanLogical(path);
  if (clean === "/") throw fileOpError(env, `refusing to remove ${path}: it is the root directory`);
  const dir = resolveInRoot(root, parentPath(clean));
  const target = `${dir.host}/${clean.slice(clean.lastIndexOf("/") + 1)}`;
  if (lstatIfExists(target) === undefined) {
    if (allowNotFound) return;
    throw fileOpError(env, `cannot remove ${path}: it does not exist`);
  }
  rmSync(target, { recursive: true, force: true });
}
