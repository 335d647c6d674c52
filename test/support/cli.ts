import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunResult, run, runOk } from "../harness/exec.ts";

const repoRoot = new URL("../../", import.meta.url).pathname;
let bundled: Promise<unknown> | undefined;

/**
 * Tests run the artifact users run. `npm test` bundles first; a test run on its own re-bundles only when a
 * source file is newer than the bundle (re-bundling under other running tests would swap files under them).
 */
function ensureBundle(): Promise<unknown> {
  bundled ??= (async () => {
    const bundle = join(repoRoot, "dist/polyarch.mjs");
    const built = existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
    if (newestMtime(join(repoRoot, "src")) > built)
      await runOk(process.execPath, [join(repoRoot, "scripts/bundle.mjs")], { cwd: repoRoot });
  })();
  return bundled;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Runs `polyarch ARGS` as a user would, with its own state directory unless the env names one. */
export async function polyarch(
  args: readonly string[],
  options: { env?: Record<string, string>; input?: string; cwd?: string } = {},
): Promise<RunResult> {
  await ensureBundle();
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ...options.env };
  return run(process.execPath, [join(repoRoot, "bin/polyarch.mjs"), ...args], {
    env,
    cwd: options.cwd ?? repoRoot,
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
}

/** A temp state directory (POLYARCH_ROOT) removed when the test ends. */
export async function tempStateRoot(): Promise<{ dir: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-state-"));
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}
