// The BuildKit side of a benchmark: one warm buildkitd (v0.24.0, ../shared/buildkit) for a whole run, and
// builds through buildctl timed as a user sees them (the client's wall clock), with the daemon's CPU read
// from /proc (utime+stime+cutime+cstime: its own work and its runc/QEMU children's) around each build.
import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { findBuildKitDir } from "../../test/harness/buildkit.ts";

const execFileAsync = promisify(execFile);
/** Clock ticks per second of /proc/PID/stat times (USER_HZ; 100 on every Linux build in use). */
const ticksPerSecond = 100;

export interface BuildKitBuild {
  context: string;
  platforms: string;
  /** OCI archive written by the build. */
  dest: string;
  noCache?: boolean;
  buildArgs?: Record<string, string>;
  /** buildctl --import-cache / --export-cache values (e.g. `type=registry,ref=…`). */
  importCache?: string[];
  exportCache?: string[];
}

export interface Timed {
  ms: number;
  cpuMs: number;
}

export interface BuildKitDaemon {
  /** unix:// address of the daemon (for clients other than buildctl). */
  address: string;
  /** Its pid, for its CPU (daemonCpuMs). */
  pid: number;
  /** Empties BuildKit's cache (`buildctl prune --all`), so the next build is cold: base pulled again. */
  prune(): Promise<void>;
  build(b: BuildKitBuild): Promise<Timed>;
  stop(): Promise<void>;
}

/** The daemon's CPU so far (ms), children it has waited for included. */
export async function daemonCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces, so split after its closing parenthesis).
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const [utime, stime, cutime, cstime] = [f[11], f[12], f[13], f[14]].map(Number) as number[];
  return ((utime! + stime! + cutime! + cstime!) * 1000) / ticksPerSecond;
}

/** Starts buildkitd allowed to pull from `registryHost` over plain HTTP. */
export async function startBuildKitDaemon(registryHost: string): Promise<BuildKitDaemon> {
  const kit = findBuildKitDir();
  const state = await mkdtemp(join(tmpdir(), "polyarch-bench-buildkit-"));
  const { stdout } = await execFileAsync(join(kit, "start.sh"), [state, registryHost], { encoding: "utf8" });
  const address = stdout.trim();
  const pid = Number((await readFile(join(state, "buildkitd.pid"), "utf8")).trim());
  const buildctl = join(state, "bin", "buildctl");
  const ctl = (args: string[]) =>
    execFileAsync(buildctl, ["--addr", address, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
  return {
    address,
    pid,
    async prune() {
      await ctl(["prune", "--all"]);
    },
    async build(b) {
      const args = [
        "build",
        "--progress=quiet",
        "--frontend",
        "dockerfile.v0",
        "--local",
        `context=${b.context}`,
        "--local",
        `dockerfile=${b.context}`,
        "--opt",
        `platform=${b.platforms}`,
        "--output",
        `type=oci,dest=${b.dest}`,
      ];
      for (const [k, v] of Object.entries(b.buildArgs ?? {})) args.push("--opt", `build-arg:${k}=${v}`);
      if (b.noCache) args.push("--no-cache");
      for (const c of b.importCache ?? []) args.push("--import-cache", c);
      for (const c of b.exportCache ?? []) args.push("--export-cache", c);
      const cpu0 = await daemonCpuMs(pid);
      const start = performance.now();
      try {
        await ctl(args);
      } catch (e) {
        throw new Error(`buildctl build of ${b.context} failed: ${(e as { stderr?: string }).stderr ?? e}`);
      }
      const ms = performance.now() - start;
      return { ms, cpuMs: (await daemonCpuMs(pid)) - cpu0 };
    },
    async stop() {
      await execFileAsync(join(kit, "stop.sh"), [state], { env: { ...process.env, PURGE: "1" } });
    },
  };
}
