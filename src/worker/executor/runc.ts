import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** The runc binary and its state directory (`runc --root`), kept apart from the host's default runc state. */
export interface RuncConfig {
  binary: string;
  stateDir: string;
}

export function runcGlobalArgs(cfg: RuncConfig, logFile?: string): string[] {
  const args = ["--root", cfg.stateDir];
  if (logFile) args.push("--log", logFile, "--log-format", "json");
  return args;
}

async function runcQuiet(cfg: RuncConfig, args: string[]): Promise<{ ok: boolean; stderr: string }> {
  try {
    await execFileAsync(cfg.binary, [...runcGlobalArgs(cfg), ...args]);
    return { ok: true, stderr: "" };
  } catch (e) {
    return { ok: false, stderr: String((e as { stderr?: unknown }).stderr ?? e) };
  }
}

/** Sends SIGKILL to the container's init; false when there is no such (running) container. */
export async function runcKill(cfg: RuncConfig, id: string): Promise<boolean> {
  return (await runcQuiet(cfg, ["kill", id, "KILL"])).ok;
}

/** Removes the container whatever its state; quiet when it is already gone. */
export async function runcDeleteForce(cfg: RuncConfig, id: string): Promise<void> {
  await runcQuiet(cfg, ["delete", "--force", id]);
}

/** Ids of the containers runc knows in this state directory. */
export async function runcList(cfg: RuncConfig): Promise<string[]> {
  const { stdout } = await execFileAsync(cfg.binary, [...runcGlobalArgs(cfg), "list", "--format", "json"]);
  const parsed = JSON.parse(stdout.trim() || "null") as { id: string }[] | null;
  return (parsed ?? []).map((c) => c.id);
}

/**
 * runc's own failure (as opposed to the process's exit status), read from its JSON log: e.g. `exec:
 * "make": executable file not found in $PATH`. Undefined when runc reported no error.
 */
export async function runcFailure(logFile: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(logFile, "utf8");
  } catch {
    return undefined;
  }
  let found: string | undefined;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === "error" || entry.level === "fatal") && entry.msg) found = entry.msg;
    } catch {
      // A partial line from a killed runc is not worth failing over.
    }
  }
  return found?.replace(/^runc run failed: /, "").replace(/^unable to start container process: /, "");
}
