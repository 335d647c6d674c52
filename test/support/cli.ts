import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunResult, run, runOk } from "../harness/exec.ts";

const repoRoot = new URL("../../", import.meta.url).pathname;
let bundled: Promise<unknown> | undefined;

/** Bundles the CLI once per test process, so tests run the artifact users run, built from this tree. */
function ensureBundle(): Promise<unknown> {
  bundled ??= runOk(process.execPath, [join(repoRoot, "scripts/bundle.mjs")], { cwd: repoRoot });
  return bundled;
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
