/** Test support for file ops: temp trees written from a compact description, and one-action runs. */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after } from "node:test";
import { applyFileOp, type FileOpContext } from "../../../../src/worker/fileop/index.ts";
import type { CopyAction, FileAction } from "../../../../src/worker/fileop/types.ts";

export const isRoot = process.getuid?.() === 0;

const made: string[] = [];
after(() => {
  for (const dir of made) {
    // Tests give directories modes without write or search bits; without root they must be opened first.
    if (!isRoot) spawnSync("chmod", ["-R", "u+rwX", dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

export function tempDir(prefix = "polyarch-fileop-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Entries by path: a string is a file's content, `{ dir: true }` a directory, `{ link }` a symlink. */
export type TreeSpec = Record<string, string | { dir: true } | { link: string }>;

export const fixedTime = 1_600_000_000;

/** Writes a tree; every entry gets `fixedTime` as mtime so copies can be checked for kept times. */
export function writeTree(root: string, spec: TreeSpec): string {
  for (const [path, what] of Object.entries(spec)) {
    const abs = join(root, path);
    mkdirSync(dirname(abs), { recursive: true });
    if (typeof what === "string") writeFileSync(abs, what);
    else if ("dir" in what) mkdirSync(abs, { recursive: true });
    else symlinkSync(what.link, abs);
  }
  for (const path of Object.keys(spec)) {
    const what = spec[path];
    if (typeof what === "object" && "link" in what) continue;
    utimesSync(join(root, path), fixedTime, fixedTime);
  }
  return root;
}

/** A copy action with the fields COPY from the planner has, overridden by `over`. */
export function copyOf(src: string, dest: string, over: Partial<CopyAction> = {}): CopyAction {
  return {
    action: "copy",
    input: 1,
    src,
    dest,
    followSymlinks: true,
    copyDirContents: true,
    createDestPath: true,
    allowWildcard: true,
    allowEmptyWildcard: true,
    attemptUnpack: false,
    ...over,
  };
}

export interface Fixture {
  dest: string;
  src: string;
  run(actions: FileAction | FileAction[], extra?: Partial<FileOpContext>): Promise<void>;
}

/** A destination and a source tree; `run` applies actions with input 1 = the source. */
export function fixture(srcSpec: TreeSpec = {}, destSpec: TreeSpec = {}): Fixture {
  const base = tempDir();
  const dest = join(base, "dest");
  const src = join(base, "src");
  mkdirSync(dest);
  mkdirSync(src);
  writeTree(src, srcSpec);
  writeTree(dest, destSpec);
  return {
    dest,
    src,
    run: (actions, extra = {}) =>
      applyFileOp(
        { kind: "file", actions: Array.isArray(actions) ? actions : [actions] },
        { dest, inputs: [dest, src], ...extra },
      ),
  };
}
