import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";

/**
 * Background programs (registries) and temp dirs that must not outlive the test process. Each daemon runs
 * under `setpriv --pdeathsig KILL`, so the kernel kills it even if this process is killed outright; an exit
 * hook covers the orderly cases and also removes temp dirs.
 */
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const child of liveChildren) child.kill("SIGKILL");
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Removes `dir` when the process exits, unless forgetDir() is called first (after a normal cleanup). */
export function removeOnExit(dir: string): void {
  hookExit();
  liveDirs.add(dir);
}

export function forgetDir(dir: string): void {
  liveDirs.delete(dir);
}

export interface Daemon {
  child: ChildProcess;
  /** The first match of `ready` in the daemon's stderr or stdout. */
  ready: RegExpMatchArray;
  /** Everything the daemon printed so far, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `file` and waits until its output matches `ready` (or fails with what it printed if it exits or
 * `timeoutMs` passes first).
 */
export async function startDaemon(
  file: string,
  args: readonly string[],
  ready: RegExp,
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Daemon> {
  hookExit();
  const child = spawn("setpriv", ["--pdeathsig", "KILL", "--", file, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: options.env ?? process.env,
  });
  liveChildren.add(child);
  let output = "";
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      liveChildren.delete(child);
      resolve();
    }),
  );

  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${file} did not become ready in ${options.timeoutMs ?? 20_000} ms:\n${output}`));
    }, options.timeoutMs ?? 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const m = output.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${file}: ${e.message}`));
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${signal ?? code}) before it was ready:\n${output}`));
    });
  });
  // Keep draining the pipes so a chatty daemon never blocks on a full pipe; keep only a bounded tail.
  const keepTail = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-64 * 1024);
  };
  child.stdout!.removeAllListeners("data").on("data", keepTail);
  child.stderr!.removeAllListeners("data").on("data", keepTail);

  let stopping: Promise<void> | undefined;
  return {
    child,
    ready: match,
    output: () => output,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
          await exited;
          clearTimeout(killer);
        }
      })();
      return stopping;
    },
  };
}
