import { UserError } from "../errors/user-error.ts";
import type { ProgressMode, ProgressSink } from "./events.ts";
import { type ProgressOptions, resolveOptions } from "./options.ts";
import { PlainRenderer } from "./plain.ts";
import { QuietRenderer } from "./quiet.ts";
import { RawJsonRenderer } from "./rawjson.ts";
import { type TerminalStream, TtyRenderer } from "./tty.ts";

export type * from "./events.ts";
export { discardProgress } from "./events.ts";
export type { ProgressOptions } from "./options.ts";

export const PROGRESS_MODES: readonly ProgressMode[] = ["auto", "plain", "tty", "rawjson", "quiet"];

interface MaybeTty extends TerminalStream {
  isTTY?: boolean;
}

/**
 * The renderer for `--progress=MODE`, writing to `out` (the CLI passes stderr, as buildx does). "auto" is the
 * live view on a terminal and plain text otherwise; "tty" on something that is not a terminal (a pipe, a
 * file, TERM=dumb) also falls back to plain text, since cursor movement would only garble it.
 */
export function createProgress(
  mode: ProgressMode,
  out: NodeJS.WritableStream,
  options?: ProgressOptions,
): ProgressSink {
  const resolved = resolveOptions(options);
  switch (mode) {
    case "auto":
    case "tty": {
      const stream = out as MaybeTty;
      const terminal = stream.isTTY === true && resolved.env.TERM !== "dumb";
      if (!terminal) return new PlainRenderer(out, resolved);
      // https://no-color.org: any non-empty NO_COLOR turns colours off.
      const color = !resolved.env.NO_COLOR;
      return new TtyRenderer(stream, resolved, color);
    }
    case "plain":
      return new PlainRenderer(out, resolved);
    case "rawjson":
      return new RawJsonRenderer(out, resolved);
    case "quiet":
      return new QuietRenderer(out, resolved);
    default:
      throw new UserError(`unknown progress mode ${JSON.stringify(mode)}`, {
        hint: `use one of: ${PROGRESS_MODES.join(", ")}`,
      });
  }
}
