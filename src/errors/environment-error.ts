/**
 * Failures of the machine polyarch runs on, not of polyarch nor of the user's input: a full disk, a denied
 * permission, a missing program. Node reports them as bare errno errors (`ENOSPC: no space left on device,
 * write`, often without a path); here they become user errors that say where and what to do.
 */
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { UserError } from "./user-error.ts";

export class EnvironmentError extends UserError {
  override name = "EnvironmentError";
  /** The errno code behind it (ENOSPC, EACCES, ENOENT for a missing program…). */
  readonly code: string;

  constructor(code: string, message: string, options: { hint: string; cause: unknown }) {
    super(message, options);
    this.code = code;
  }
}

interface Errno {
  code: string;
  message: string;
  syscall?: string;
  path?: string;
  dest?: string;
}

const spaceCodes: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
};
const accessCodes: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
};
const descriptorCodes: Record<string, string> = {
  EMFILE: "too many open files in this process",
  ENFILE: "too many open files on this machine",
};

/** The first errno-style error in a chain of causes (wrappers keep the original as `cause`). */
export function findErrno(e: unknown): Errno | undefined {
  let cur: unknown = e;
  for (let depth = 0; cur && typeof cur === "object" && depth < 8; depth++) {
    const c = cur as Partial<Errno> & { cause?: unknown; errno?: unknown };
    if (
      typeof c.code === "string" &&
      /^E[A-Z0-9]+$/.test(c.code) &&
      (c.syscall || typeof c.errno === "number")
    )
      return c as Errno;
    cur = c.cause;
  }
  return undefined;
}

/**
 * For code that knows where it writes in polyarch's state (the content store's ingest directory): a full
 * disk or a denied write there becomes an EnvironmentError naming `directory`; anything else is returned
 * unchanged.
 */
export function attachDirectory(e: unknown, directory: string): unknown {
  if (e instanceof UserError) return e;
  const errno = findErrno(e);
  if (!errno) return e;
  if (errno.code in spaceCodes) return spaceError(e, errno, directory, "state");
  if (errno.code in accessCodes) return accessError(e, errno, errno.path ?? directory);
  return e;
}

/** Names of polyarch's own directories, so a message can say what a full or denied path belongs to. */
export interface EnvironmentContext {
  /** The state directory (POLYARCH_ROOT): content store, build cache, snapshots. */
  stateDir?: string;
}

/**
 * For the last line of defence (the CLI): an environment failure anywhere below, however it was wrapped,
 * as an EnvironmentError; undefined for anything else (a user error already, or a real bug).
 */
export function asEnvironmentError(
  e: unknown,
  context: EnvironmentContext = {},
): EnvironmentError | undefined {
  if (e instanceof UserError) return undefined;
  const errno = findErrno(e);
  if (!errno) return undefined;
  if (errno.code === "ENOENT" && errno.syscall?.startsWith("spawn")) return missingProgram(e, errno);
  if (errno.code in spaceCodes) {
    // Without a path (a write on an open file), the state directory is where polyarch writes most.
    const written = errno.dest ?? errno.path;
    const dir = written ? ownerDirectory(dirname(resolve(written)), context) : context.stateDir;
    if (dir === undefined) return spaceError(e, errno, "the directory being written", "other");
    const own = context.stateDir !== undefined && dir === resolve(context.stateDir) ? "state dir" : "other";
    return spaceError(e, errno, dir, own);
  }
  if (errno.code in accessCodes) return accessError(e, errno, errno.dest ?? errno.path);
  if (errno.code in descriptorCodes)
    return new EnvironmentError(errno.code, withContext(e, errno, descriptorCodes[errno.code]!), {
      hint: "raise the open-file limit (ulimit -n 65536, or LimitNOFILE= for a service) and run again",
      cause: e,
    });
  return undefined;
}

/** A path under the state directory is reported as the state directory: that is what the user can move. */
function ownerDirectory(dir: string, context: EnvironmentContext): string {
  const state = context.stateDir && resolve(context.stateDir);
  if (state) {
    const rel = relative(state, dir);
    if (rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))) return state;
  }
  return dir;
}

/** `own`: the directory is polyarch's own state (movable with POLYARCH_ROOT), not an output the user chose. */
function spaceError(
  e: unknown,
  errno: Errno,
  dir: string,
  own: "state dir" | "state" | "other",
): EnvironmentError {
  const where = own === "state dir" ? `${dir} (polyarch's state directory)` : dir;
  const hint =
    own === "other"
      ? `free space on the filesystem holding ${dir}, or write there somewhere else, then run again`
      : `free space on the filesystem holding ${dir}, or set POLYARCH_ROOT to a directory on a bigger one, then run again`;
  return new EnvironmentError(errno.code, withContext(e, errno, `${spaceCodes[errno.code]} in ${where}`), {
    hint,
    cause: e,
  });
}

function accessError(e: unknown, errno: Errno, path: string | undefined): EnvironmentError {
  const what = accessCodes[errno.code]!;
  const hint =
    errno.code === "EROFS"
      ? `${path ?? "the target"} is on a read-only filesystem: set POLYARCH_ROOT (or the output) to a writable place`
      : `polyarch needs root, or write access to ${path ?? "its state directory (POLYARCH_ROOT)"}; check the owner and mode there`;
  return new EnvironmentError(errno.code, withContext(e, errno, path ? `${what}: ${path}` : what), {
    hint,
    cause: e,
  });
}

/** Debian's package for the programs polyarch runs, for the install hint. */
const packages: Record<string, string> = {
  runc: "runc",
  skopeo: "skopeo",
  umoci: "umoci",
  tar: "tar",
  cp: "coreutils",
  touch: "coreutils",
  mknod: "coreutils",
  mount: "mount",
  umount: "mount",
  gzip: "gzip",
  xz: "xz-utils",
  zstd: "zstd",
  bzip2: "bzip2",
};

function missingProgram(e: unknown, errno: Errno): EnvironmentError {
  const program = errno.path ?? errno.syscall!.replace(/^spawn\s*/, "");
  const base = program.split("/").pop() ?? program;
  const pkg = packages[base] ?? (base.startsWith("qemu-") ? "qemu-user-static" : undefined);
  return new EnvironmentError(
    "ENOENT",
    withContext(e, errno, `${program} is not installed (or not on PATH)`),
    {
      hint: pkg ? `install it: apt-get install ${pkg}` : `install ${base}, or put it on PATH`,
      cause: e,
    },
  );
}

/**
 * Keeps what the wrapping layers said (which step, which file) and replaces Node's terse errno text with
 * `clear`: "copying /big to /big: ENOSPC: no space left on device, copyfile …" → "copying /big to /big: clear".
 */
function withContext(e: unknown, errno: Errno, clear: string): string {
  const outer = e instanceof Error ? e.message : "";
  if (e === errno || !outer) return clear;
  const i = outer.indexOf(errno.message);
  const prefix = (i >= 0 ? outer.slice(0, i) : `${outer}: `).replace(/[:\s]+$/, "");
  return prefix ? `${prefix}: ${clear}` : clear;
}
