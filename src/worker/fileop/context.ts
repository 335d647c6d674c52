import type { ErrorLocation } from "../../errors/user-error.ts";

/** Where a file op runs: the tree it writes, the trees it reads, and how to word its errors. */
export interface FileOpContext {
  /** The writable destination root (a mounted overlay snapshot or a plain dir): input 0's tree. */
  dest: string;
  /** Read-only root directories of the vertex's inputs, by input index (index 0 is dest itself). */
  inputs: readonly string[];
  /** Where in the error a failing action is, e.g. "Dockerfile:12:1" text; used in UserError messages. */
  where?: string;
  /** The Dockerfile location of the instruction, passed on to UserErrors so the line can be shown. */
  location?: ErrorLocation;
  /**
   * Inputs that are local sources (the build context, a named context). BuildKit's client sends their
   * files as uid 0 / gid 0 whoever owns them on the client, so a copy from them without --chown gives
   * root-owned files; copies from images and stages keep the owners the files have there.
   */
  contextInputs?: readonly number[];
  /** How an input is named in "not found" errors, e.g. "the build context" or `stage "builder"`. */
  inputNames?: readonly (string | undefined)[];
  /** Things that were not applied exactly (an xattr the file system refused, a device when not root). */
  warn?: (message: string) => void;
  /** SOURCE_DATE_EPOCH-style clamp is applied later by the exporter; source mtimes are preserved here. */
}

/** The parts of a context an action needs, with the defaults filled in. */
export interface ActionEnv {
  where: string | undefined;
  location: ErrorLocation | undefined;
  warn: (message: string) => void;
}

export function actionEnv(ctx: FileOpContext): ActionEnv {
  return { where: ctx.where, location: ctx.location, warn: ctx.warn ?? (() => {}) };
}
