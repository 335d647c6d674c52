/**
 * The file operations of the build engine: COPY/ADD (copy), WORKDIR (mkdir), here-documents (mkfile) and
 * rm, applied in order to the destination tree, with BuildKit's semantics. `mergeInto` lays whole trees over
 * a destination (MergeOp, when layers cannot be stacked).
 */
import { realpathSync } from "node:fs";
import { isUserError, UserError } from "../../errors/user-error.ts";
import { actionEnv, type FileOpContext } from "./context.ts";
import { copyAction } from "./copy-action.ts";
import { mkdirAction } from "./mkdir.ts";
import { mkfileAction } from "./mkfile.ts";
import { rmAction } from "./rm.ts";
import type { FileAction, FileOp } from "./types.ts";

export type { FileOpContext } from "./context.ts";
export { mergeInto } from "./merge.ts";
export type * from "./types.ts";

export async function applyFileOp(op: FileOp, ctx: FileOpContext): Promise<void> {
  const env = actionEnv(ctx);
  const destRoot = realpathSync(ctx.dest);
  for (const action of op.actions) {
    try {
      if (action.action === "copy") await copyAction(action, ctx, env);
      else if (action.action === "mkdir") mkdirAction(action, destRoot, env);
      else if (action.action === "mkfile") mkfileAction(action, destRoot, env);
      else rmAction(action, destRoot, env);
    } catch (err) {
      if (isUserError(err)) throw positioned(err, ctx);
      throw new Error(`${ctx.where ? `${ctx.where}: ` : ""}${describe(action)}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}

/**
 * Every user error of a file op says where its instruction is, whichever helper raised it, and says it
 * once: as a location (which the CLI prints before the message) when there is one, else in the message.
 */
function positioned(err: UserError, ctx: FileOpContext): UserError {
  const { where } = ctx;
  const location = err.location ?? ctx.location;
  const prefix = location === undefined && where !== undefined && !err.message.startsWith(`${where}: `);
  if (!prefix && err.location === location) return err;
  return new UserError(prefix ? `${where}: ${err.message}` : err.message, {
    ...(err.hint === undefined ? {} : { hint: err.hint }),
    ...(location === undefined ? {} : { location }),
    cause: err,
  });
}

function describe(action: FileAction): string {
  if (action.action === "copy") return `copying ${action.src} to ${action.dest}`;
  return `${action.action} ${action.path}`;
}
