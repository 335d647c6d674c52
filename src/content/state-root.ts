/**
 * The state root holds unpacked layers, snapshots and the store: setuid-root binaries and device nodes of
 * any image ever built. Were it traversable, any local user could run or open them (the class of moby's
 * CVE-2021-41091), so it is kept 0700 as containerd keeps its snapshots (Docker keeps its root 0710).
 * Checked on every start: a looser root we own is tightened (with a note, since something loosened it);
 * a root owned by another user is refused, as we could neither trust nor tighten it.
 */
import { chmod, mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { UserError } from "../errors/user-error.ts";

const privateMode = 0o700;

export interface StateRootOptions {
  /** Where the note about a tightened mode goes; default standard error. */
  onNote?: (message: string) => void;
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8)}`;
}

/** Creates `dir` (0700) when missing, else checks its owner and tightens its mode to 0700. */
export async function prepareStateRoot(dir: string, options: StateRootOptions = {}): Promise<void> {
  try {
    await mkdir(dirname(dir), { recursive: true });
    await mkdir(dir, { mode: privateMode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new UserError(`cannot create the state directory ${dir}: ${(e as Error).message}`, {
        hint: "set POLYARCH_ROOT to a directory this user can create",
        cause: e,
      });
    }
  }
  const st = await stat(dir);
  if (!st.isDirectory()) {
    throw new UserError(`the state directory ${dir} is not a directory`, {
      hint: "remove the file, or set POLYARCH_ROOT to another directory",
    });
  }
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new UserError(
      `the state directory ${dir} belongs to uid ${st.uid}, not to this user (uid ${uid})`,
      {
        hint: "polyarch keeps image files there (setuid binaries, device nodes) and uses only a directory of its own user: set POLYARCH_ROOT to one, or chown this one",
      },
    );
  }
  if ((st.mode & 0o777) !== privateMode) {
    await chmod(dir, privateMode);
    const note = `polyarch: note: the state directory ${dir} was mode ${octal(st.mode)}; it is now 0700, so other users cannot reach the image files in it`;
    (options.onNote ?? ((m) => process.stderr.write(`${m}\n`)))(note);
  }
}
