import { readFileSync } from "node:fs";

/**
 * Which process owns a leftover (a runc container, a runtime bundle, a mount), told reliably: pids are
 * reused, so an owner is its pid plus its start time (field 22 of /proc/PID/stat, clock ticks since
 * boot), which no later process with the same pid can have. Clean-up of other builds' leftovers only
 * ever touches those whose owner is dead by this test.
 */

export interface ProcessOwner {
  pid: number;
  startTicks: number;
}

/** Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces and parentheses. */
function readStartTicks(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[19]);
  return Number.isSafeInteger(ticks) ? ticks : undefined;
}

let self: ProcessOwner | undefined;
export function selfOwner(): ProcessOwner {
  self ??= { pid: process.pid, startTicks: readStartTicks(process.pid) ?? 0 };
  return self;
}

/** `PID36-START36`: what names of this process's leftovers carry (letters and digits only). */
export function ownerTag(owner: ProcessOwner = selfOwner()): string {
  return `${owner.pid.toString(36)}-${owner.startTicks.toString(36)}`;
}

/** The owner a name starting with `prefix` + ownerTag() carries, or undefined when it has none. */
export function ownerFromName(name: string, prefix: string): ProcessOwner | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const m = /^([0-9a-z]{1,12})-([0-9a-z]{1,13})(?:-|$)/.exec(name.slice(prefix.length));
  if (!m) return undefined;
  const pid = Number.parseInt(m[1]!, 36);
  const startTicks = Number.parseInt(m[2]!, 36);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !Number.isSafeInteger(startTicks)) return undefined;
  return { pid, startTicks };
}

/** True while the very process that made the owner tag runs. */
export function ownerAlive(owner: ProcessOwner): boolean {
  if (owner.pid === process.pid) return owner.startTicks === selfOwner().startTicks;
  return readStartTicks(owner.pid) === owner.startTicks;
}

let bootMs: number | undefined;
function bootTimeMs(): number {
  if (bootMs === undefined) {
    const m = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "latin1"));
    bootMs = m ? Number(m[1]) * 1000 : 0;
  }
  return bootMs;
}

// USER_HZ is 100 on every Linux ABI Node runs on.
const ticksPerSecond = 100;

/**
 * For names that carry only a pid (snapshot keys): the owner may still run if a process with that pid
 * exists and started before `madeAtMs` (when the leftover was made); one that started later is a reuse
 * of the pid by another process, and the owner is dead. A second of slack covers btime's rounding.
 */
export function pidMayOwn(pid: number, madeAtMs: number): boolean {
  if (pid === process.pid) return true;
  const ticks = readStartTicks(pid);
  if (ticks === undefined) return false;
  return bootTimeMs() + (ticks / ticksPerSecond) * 1000 <= madeAtMs + 1000;
}
