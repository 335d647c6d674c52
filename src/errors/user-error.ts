/**
 * An error the user can act on. The CLI prints `message` as one line and `hint` under it, with no stack
 * trace (unless --debug). Anything that is not a UserError is a bug in polyarch and is shown as such.
 */
export interface ErrorLocation {
  file: string;
  line: number;
  column: number;
  /** The source line, shown with a caret under `column`. */
  source?: string;
}

export class UserError extends Error {
  override name = "UserError";
  readonly hint: string | undefined;
  readonly location: ErrorLocation | undefined;

  constructor(message: string, options: { hint?: string; location?: ErrorLocation; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
    this.location = options.location;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
