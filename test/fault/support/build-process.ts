/**
 * polyarch as a user runs it, in its own process group, so a fault test can kill -9 the node process
 * alone (its runc children live on) or the whole group (as a terminal's kill of a job does), and a watchdog
 * that tells a hang from a failure.
 */
import { spawn } from "node:child_process";
import { polyarch } from "../../support/cli.ts";

const bin = new URL("../../../bin/polyarch.mjs", import.meta.url).pathname;

export interface BuildRun {
  pid: number;
  /** Resolves when the process exits (or the watchdog killed its group: `hung`). */
  exited: Promise<{ code: number | null; signal: string | null; stderr: string; hung: boolean }>;
}

/** Bundles dist/ when src/ is newer (through the CLI helper), once. */
let bundled: Promise<unknown> | undefined;
export function ensureCli(): Promise<unknown> {
  bundled ??= polyarch(["--version"]);
  return bundled;
}

export function startBuild(
  args: readonly string[],
  env: Record<string, string>,
  watchdogMs: number,
): BuildRun {
  const child = spawn(process.execPath, [bin, ...args], {
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, NO_COLOR: "1", ...env },
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr = (stderr + d).slice(-20_000);
  });
  let hung = false;
  const watchdog = setTimeout(() => {
    hung = true;
    killGroup(child.pid!);
  }, watchdogMs);
  const exited = new Promise<{ code: number | null; signal: string | null; stderr: string; hung: boolean }>(
    (resolve) => {
      child.once("close", (code, signal) => {
        clearTimeout(watchdog);
        resolve({ code, signal, stderr, hung });
      });
    },
  );
  return { pid: child.pid!, exited };
}

export function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Gone already.
  }
}

export function killNode(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Gone already.
  }
}
