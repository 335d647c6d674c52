/**
 * Which process owns a leftover (a runc container, a runtime bundle, a mount), told reliably: pids are
 * reused, so an owner is its pid plus its start time (field 22 of /proc/PID/stat, clock ticks since
 * boot), which no later process with the same pid can have. Clean-up of other builds' leftovers only
 * ever touches those whose owner is dead by this test.
 */

import { startedAtMs, startTicks } from "../fsutil/process-identity.ts";

export interface ProcessOwner {
  pid: number;
  startTicks: number;
}

function readStartTicks(pid: number): number | undefined {
  const ticks = startTicks(pid);
  return ticks === undefined ? undefined : Number(ticks);
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

/**
 * For names that carry only a pid (snapshot keys): the owner may still run if a process with that pid
 * exists and started before `madeAtMs` (when the leftover was made); one that started later is a reuse
 * of the pid by another process, and the owner is dead. A second of slack covers btime's rounding.
 */
export function pidMayOwn(pid: number, madeAtMs: number): boolean {
  if (pid === process.pid) return true;
  const started = startedAtMs(pid);
  if (started === undefined) return false;
  return started <= madeAtMs + 1000;
}
