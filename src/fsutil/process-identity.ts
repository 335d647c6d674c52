/**
 * Who owns a file left in the state directory, and whether that owner still runs. A pid alone is not
 * enough: after a kill -9 the pid is free and the kernel may give it to any later process, which would
 * make a leftover look owned for ever. A process is therefore named by pid + start time (field 22 of
 * /proc/PID/stat, clock ticks since boot) + boot id, and a leftover whose owner's pid now belongs to a
 * process started later than the leftover was made is an orphan too.
 */
import { readFileSync } from "node:fs";

/** `PID:START:BOOT`: unique to one process of one boot of this machine. */
export type ProcessIdentity = string;

/** True while a process with this pid exists (EPERM: it exists but is not ours). */
export function alive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), or undefined when it is gone. */
export function startTicks(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // Field 2 (comm) is in parentheses and may hold spaces and parentheses itself: count after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state), so field 22 is fields[19].
  const ticks = fields[19];
  return ticks !== undefined && /^\d+$/.test(ticks) ? ticks : undefined;
}

let bootIdCache: string | undefined;
function bootId(): string {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim().replaceAll("-", "");
    } catch {
      bootIdCache = "";
    }
  }
  return bootIdCache;
}

let bootMsCache: number | undefined;
/** When the machine booted (ms since the epoch, to the second), from /proc/stat's btime. */
function bootTimeMs(): number | undefined {
  if (bootMsCache === undefined) {
    try {
      const m = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"));
      bootMsCache = m ? Number(m[1]) * 1000 : Number.NaN;
    } catch {
      bootMsCache = Number.NaN;
    }
  }
  return Number.isNaN(bootMsCache) ? undefined : bootMsCache;
}

/** When process `pid` started, in ms since the epoch (USER_HZ is 100 on every Linux port). */
export function startedAtMs(pid: number): number | undefined {
  const ticks = startTicks(pid);
  const boot = bootTimeMs();
  return ticks === undefined || boot === undefined ? undefined : boot + Number(ticks) * 10;
}

let selfCache: ProcessIdentity | undefined;
/** This process's identity. */
export function selfIdentity(): ProcessIdentity {
  selfCache ??= `${process.pid}:${startTicks(process.pid) ?? ""}:${bootId()}`;
  return selfCache;
}

/** The pid an identity names, or undefined when it is not one. */
export function identityPid(identity: string): number | undefined {
  const pid = Number(identity.split(":")[0]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Whether the process an identity names still runs. Parts the identity lacks (an older, pid-only
 * format) are not compared.
 */
export function identityAlive(identity: string): boolean {
  const [pidText, ticks, boot] = identity.trim().split(":");
  const pid = Number(pidText);
  if (!alive(pid)) return false;
  if (boot && bootId() && boot !== bootId()) return false;
  if (ticks && ticks !== startTicks(pid)) return false;
  return true;
}

/**
 * Margin for comparing a file's times with a process start time: btime has whole seconds and some
 * filesystems keep coarse times.
 */
const clockSlackMs = 2_000;

/**
 * Whether something made at `madeAtMs` by process `pid` (known by pid only, e.g. from a file name) has
 * lost its owner: the pid is free, or it now belongs to a process that started after the thing was made.
 */
export function pidOwnerGone(pid: number, madeAtMs: number): boolean {
  if (!alive(pid)) return true;
  const started = startedAtMs(pid);
  return started !== undefined && started > madeAtMs + clockSlackMs;
}
