/**
 * Private scratch directories of one process under `<state>/solver/tmp` (git checkouts, fetched remote
 * contexts; ADD downloads sit beside them). Their names carry the owner's pid (`git-PID36-…`, `context-PID36-…`), so what a killed build
 * left is removed by a later build once that process is gone, and never while it still runs.
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { orphanedTemp } from "../fsutil/orphans.ts";
import { pidOwnerGone } from "../fsutil/process-identity.ts";

const reaped = /^(git|context)-([0-9a-z]+)-/;

export function tempRoot(stateRoot: string): string {
  return join(stateRoot, "solver", "tmp");
}

/** A fresh 0700 directory `<state>/solver/tmp/PREFIX-PID36-RANDOM`. */
export async function privateTempDir(stateRoot: string, prefix: "git" | "context"): Promise<string> {
  const root = tempRoot(stateRoot);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const dir = join(root, `${prefix}-${process.pid.toString(36)}-${randomBytes(6).toString("hex")}`);
  await mkdir(dir, { mode: 0o700 });
  return dir;
}

/** Removes the scratch directories of processes that are gone (only names this module makes). */
export async function reapDeadTemp(stateRoot: string): Promise<void> {
  const root = tempRoot(stateRoot);
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(root, name);
    // ADD downloads (`http-PID-HEX`, uniqueSuffix-style names) in the same directory.
    if (name.startsWith("http-")) {
      if (await orphanedTemp(path, name)) await rm(path, { force: true }).catch(() => {});
      continue;
    }
    const m = reaped.exec(name);
    const pid = m ? Number.parseInt(m[2]!, 36) : Number.NaN;
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) continue;
    const made = await lstat(path).then(
      (st) => st.ctimeMs,
      () => undefined,
    );
    // A reused pid is not the owner: a process that started after the dir was made did not make it.
    if (made === undefined || !pidOwnerGone(pid, made)) continue;
    await rm(path, { recursive: true, force: true }).catch(() => {});
  }
}
