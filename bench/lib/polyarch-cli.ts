// The polyarch side of a benchmark: the shipped CLI (the bin/polyarch launcher, with the Node options it
// sets, over the bundle) run as a user runs it, process start included. Its CPU is read from a wrapping shell's /proc stat once the CLI has been
// waited for (cutime+cstime: the CLI and everything it waited for, runc and QEMU included); its peak RSS is
// sampled from the CLI's own /proc status.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";

const repo = new URL("../../", import.meta.url).pathname;
export const polyarchBin = join(repo, "bin/polyarch");
const ticksPerSecond = 100;

export interface CliSample {
  ms: number;
  cpuMs: number;
  peakRssMb: number;
}

// The shell runs the CLI, then prints its own stat (whose child times now hold the CLI's) on fd 3.
const wrapper = '"$@"; rc=$?; cat /proc/$$/stat >&3; exit $rc';

async function childPids(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8");
    return text.split(" ").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function runPolyarch(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliSample> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn("sh", ["-c", wrapper, "sh", polyarchBin, ...args], {
      // The launcher runs the `node` on PATH: this one.
      env: { ...env, PATH: `${dirname(process.execPath)}:${env.PATH ?? ""}` },
      stdio: ["ignore", "ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let stat = "";
    child.stderr!.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (d: Buffer) => {
      stat += d.toString();
    });
    let peak = 0;
    const sample = async () => {
      for (const pid of await childPids(child.pid!)) {
        try {
          const status = await readFile(`/proc/${pid}/status`, "utf8");
          const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
          if (hwm) peak = Math.max(peak, Number(hwm[1]) / 1024);
        } catch {
          // exited between the listing and the read
        }
      }
    };
    const timer = setInterval(sample, 20);
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(timer);
      const ms = performance.now() - start;
      if (code !== 0) {
        reject(new Error(`polyarch ${args.join(" ")} exited with ${code}\n${stderr}`));
        return;
      }
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cpuMs = ((Number(f[13]) + Number(f[14])) * 1000) / ticksPerSecond;
      resolve({ ms, cpuMs, peakRssMb: peak });
    });
  });
}
