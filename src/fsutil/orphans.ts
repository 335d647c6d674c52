/**
 * Temp files and directories carry the pid of the process that made them (uniqueSuffix(): `…PID-HEX`),
 * so whoever finds one later can tell a leftover of a killed process from the work of a live one. Sweeps
 * remove only orphans: the owner is gone (see pidOwnerGone), or the file is older than any write lasts.
 */
import { lstat } from "node:fs/promises";
import { pidOwnerGone } from "./process-identity.ts";

/** Older than this, a temp file is a leftover whoever made it (no write or download lasts a day). */
export const tempMaxAgeMs = 24 * 60 * 60 * 1000;

/** The pid in a name that ends with uniqueSuffix() (`PID-` and 12 hex digits), if it has one. */
export function suffixPid(name: string): number | undefined {
  const m = /(?:^|\D)(\d{1,10})-[0-9a-f]{12}$/.exec(name);
  const pid = m ? Number(m[1]) : Number.NaN;
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Whether `path`, named `name` with uniqueSuffix(), was left by a process that is gone (or is older than
 * tempMaxAgeMs). A name without a pid is never an orphan: it is not ours to judge.
 */
export async function orphanedTemp(path: string, name: string, maxAgeMs = tempMaxAgeMs): Promise<boolean> {
  const pid = suffixPid(name);
  if (pid === undefined || pid === process.pid) return false;
  let mtimeMs: number;
  try {
    // mtime is never earlier than the making, so comparing it with the pid's start time errs on keeping.
    mtimeMs = (await lstat(path)).mtimeMs;
  } catch {
    return false;
  }
  return pidOwnerGone(pid, mtimeMs) || Date.now() - mtimeMs > maxAgeMs;
}
