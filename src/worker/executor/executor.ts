import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import { join } from "node:path";
import { EmulationDetector } from "../emulation/runnable.ts";
import { ownerTag } from "../process-owner.ts";
import { execMountPoints, type OverlayRoot } from "../snapshot/snapshotter.ts";
import { defaultBundleRoot, makeBundleDir, removeBundleDir } from "./bundle-root.ts";
import { ExecFailedError, ExecStartError, ExecTimeoutError } from "./errors.ts";
import { hostsFile, resolvConf } from "./etc-files.ts";
import { defaultHostname, type ExecMount, type ExecRequest } from "./exec-request.ts";
import { readLayeredFile } from "./layered-path.ts";
import { findMissingMountPoints, type MountStubs, removeMountStubs } from "./mount-stubs.ts";
import { startOrphanGuard } from "./orphan-guard.ts";
import { OutputTail } from "./output-tail.ts";
import {
  layersTopFirst,
  missingMountPoints,
  mkdirInOverlay,
  type OverlayStub,
  overlayRootMount,
  removeUpperStubs,
  writeStubLayer,
} from "./overlay-root.ts";
import { mkdirInRoot, readRootfsFile } from "./rootfs-path.ts";
import { type RuncConfig, runcDeleteForce, runcFailure, runcGlobalArgs, runcKill } from "./runc.ts";
import { buildRuntimeSpec, capabilitiesInMask, defaultNofile } from "./spec.ts";
import { resolveUser } from "./user.ts";

export type OutputStream = "stdout" | "stderr";

export interface ExecutorOptions {
  /** runc's state goes to `<stateRoot>/runc`; bundles to `bundleRoot`. */
  stateRoot: string;
  /**
   * Where each step's short-lived bundle (config.json, hosts, resolv.conf, mount points) is written and
   * removed again. Default: a directory on /dev/shm when it exists, else `<stateRoot>/bundles`.
   */
  bundleRoot?: string;
  /** The runc binary; default `runc` from PATH. */
  runc?: string;
  emulation?: EmulationDetector;
  /** The resolver configuration copied into containers; default the host's /etc/resolv.conf. */
  resolvConfPath?: string;
}

export interface RunOptions {
  /** Aborting kills the container (runc kill KILL, then delete --force) and removes its bundle. */
  signal?: AbortSignal;
  /** Every chunk the process writes, as it comes; the pipes are always read to their end. */
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
  /** Watchdog: kill the step after this long. Meant for emulated runs, which can hang (see the guide). */
  timeoutMs?: number;
  /** How many output lines a failure quotes; default 20. */
  tailLines?: number;
  /**
   * `pipes` (the default): no stdin, output read through onOutput. `stdin`: polyarch's stdin is the
   * process's (`run -i`). `terminal`: polyarch's terminal is runc's, which gives the process a pty (`run -t`).
   */
  stdio?: "pipes" | "stdin" | "terminal";
}

export interface RunResult {
  containerId: string;
  exitCode: 0;
  /** The step ran under a binfmt_misc emulator rather than natively. */
  emulated: boolean;
}

const mountPointsRuncCreates = ["/proc", "/dev", "/sys", "/etc/hosts", "/etc/resolv.conf"];

/** The mount points of a run on an overlay root missing from its layers; a bind of a file needs a file. */
async function overlayMountPoints(o: OverlayRoot, mounts: readonly ExecMount[]): Promise<OverlayStub[]> {
  const wanted = await Promise.all(
    mounts.map(async (m) => ({
      path: m.destination,
      dir:
        m.type === "tmpfs" ||
        (await stat(m.source).then(
          (st) => st.isDirectory(),
          () => true,
        )),
    })),
  );
  const standard = execMountPoints.map((m) => ({ path: `/${m.path}`, dir: m.dir }));
  return missingMountPoints(o, [...standard, ...wanted]);
}

let bounding: Promise<string[] | undefined> | undefined;
/** Our own capability bounding set: an insecure step can get these and no more. */
function boundingCapabilities(): Promise<string[] | undefined> {
  bounding ??= readFile("/proc/self/status", "utf8").then(
    (text) => {
      const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(text);
      return m ? capabilitiesInMask(BigInt(`0x${m[1]}`)) : undefined;
    },
    () => undefined,
  );
  return bounding;
}

let hostNofile: Promise<number> | undefined;
/** The container may not get more open files than our own hard limit unless we hold CAP_SYS_RESOURCE. */
function nofileLimit(): Promise<number> {
  hostNofile ??= readFile("/proc/self/limits", "utf8").then(
    (text) => {
      const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
      const hard = m?.[2] === "unlimited" ? Number.POSITIVE_INFINITY : Number(m?.[2]);
      return Number.isFinite(hard) && hard > 0 ? Math.min(defaultNofile, hard) : defaultNofile;
    },
    () => defaultNofile,
  );
  return hostNofile;
}

/** The name every container (and bundle) of this process starts with; see process-owner.ts. */
export function containerPrefix(): string {
  return `polyarch-${ownerTag()}-`;
}

function newContainerId(): string {
  return `${containerPrefix()}${randomBytes(6).toString("hex")}`;
}

/** Runs RUN steps as runc containers on prepared root filesystems. Daemonless: each run is one `runc run`. */
export class RuncExecutor {
  readonly #runc: RuncConfig;
  readonly #bundles: string;
  readonly #emulation: EmulationDetector;
  readonly #resolvConfPath: string | undefined;

  constructor(options: ExecutorOptions) {
    this.#runc = { binary: options.runc ?? "runc", stateDir: join(options.stateRoot, "runc") };
    this.#bundles = options.bundleRoot ?? defaultBundleRoot(options.stateRoot);
    this.#emulation = options.emulation ?? new EmulationDetector();
    this.#resolvConfPath = options.resolvConfPath;
  }

  /** Where this executor writes its per-step bundles (see ExecutorOptions.bundleRoot). */
  get bundleRoot(): string {
    return this.#bundles;
  }

  get runcConfig(): RuncConfig {
    return { ...this.#runc };
  }

  /**
   * Runs `req` with `root` as its root filesystem, which it may change (that is the step's result): a
   * rootfs path, or an overlay that runc mounts in the container's mount namespace (see OverlayRoot).
   * Resolves when the process exits 0; rejects with ExecFailedError (non-zero exit), ExecStartError,
   * ExecTimeoutError, a UserError from user or platform resolution, or the signal's reason when aborted.
   */
  async run(root: string | OverlayRoot, req: ExecRequest, options: RunOptions = {}): Promise<RunResult> {
    const { signal } = options;
    signal?.throwIfAborted();
    const how = await this.#emulation.assertCanRun(req.platform);
    const id = newContainerId();
    startOrphanGuard(this.#runc.binary, this.#runc.stateDir, this.#bundles, containerPrefix());
    const bundle = join(this.#bundles, id);
    const overlay = typeof root === "string" ? undefined : root;
    const rootfs = typeof root === "string" ? root : join(bundle, "rootfs");
    let stubs: MountStubs = { paths: [], parents: [] };
    let overlayStubs: OverlayStub[] = [];
    let needsDelete = false;
    try {
      const mounts = req.mounts ?? [];
      const hostname = req.hostname ?? defaultHostname;
      // Independent reads and writes overlap: a RUN step's overhead beside `runc run` is what bench/run-step measures.
      const layers = overlay ? layersTopFirst(overlay) : [];
      const [passwd, group, foundStubs, nofile, foundOverlayStubs] = await allSettledOrThrow([
        overlay ? readLayeredFile(layers, "/etc/passwd") : readRootfsFile(rootfs, "/etc/passwd"),
        overlay ? readLayeredFile(layers, "/etc/group") : readRootfsFile(rootfs, "/etc/group"),
        overlay
          ? Promise.resolve(stubs)
          : findMissingMountPoints(rootfs, [...mountPointsRuncCreates, ...mounts.map((m) => m.destination)]),
        nofileLimit(),
        overlay ? overlayMountPoints(overlay, mounts) : Promise.resolve([]),
        makeBundleDir(this.#bundles, id).then(() =>
          Promise.all([
            writeFile(join(bundle, "hosts"), hostsFile(hostname, req.extraHosts)),
            resolvConf(this.#resolvConfPath).then((text) => writeFile(join(bundle, "resolv.conf"), text)),
          ]),
        ),
      ]);
      stubs = foundStubs;
      overlayStubs = foundOverlayStubs;
      const user = resolveUser(req.user ?? "", passwd, group);
      const cwd = req.cwd || "/";
      if (cwd !== "/")
        await (overlay
          ? mkdirInOverlay(overlay, cwd, user.uid, user.gid)
          : mkdirInRoot(rootfs, cwd, user.uid, user.gid));
      if (overlay) {
        await mkdir(rootfs);
        if (overlayStubs.length > 0) await writeStubLayer(join(bundle, "mountpoints"), overlayStubs);
      }
      const privileged = req.security === "insecure" ? await boundingCapabilities() : undefined;
      const spec = buildRuntimeSpec({
        rootfs,
        ...(overlay
          ? {
              rootMount: overlayRootMount(
                overlay,
                overlayStubs.length > 0 ? join(bundle, "mountpoints") : undefined,
              ),
            }
          : {}),
        args: req.args,
        env: req.env,
        cwd,
        user,
        network: req.network ?? "host",
        security: req.security ?? "sandbox",
        ...(privileged ? { privilegedCapabilities: privileged } : {}),
        hostname,
        readonlyRootfs: req.readonlyRootfs ?? false,
        terminal: req.terminal ?? false,
        mounts,
        hostsFile: join(bundle, "hosts"),
        resolvConfFile: join(bundle, "resolv.conf"),
        nofile,
        ...(req.ulimits ? { ulimits: req.ulimits } : {}),
        ...(req.shmSizeBytes !== undefined ? { shmSizeBytes: req.shmSizeBytes } : {}),
      });
      // The spec holds the step's environment, env secrets included: for our eyes (and runc's) only.
      await writeFile(join(bundle, "config.json"), JSON.stringify(spec), { mode: 0o600 });
      signal?.throwIfAborted();

      needsDelete = true;
      const outcome = await this.#runContainer(id, bundle, options);
      needsDelete = outcome.killed;
      const tail = outcome.tail.lines(options.tailLines ?? 20);
      if (outcome.aborted) throw signal?.reason ?? new Error("aborted");
      if (outcome.timedOut)
        throw new ExecTimeoutError(req.args, options.timeoutMs!, !how.native, tail, req.location);
      if (outcome.exitCode !== 0) {
        const failure = outcome.exitCode === 1 ? await runcFailure(join(bundle, "runc.log")) : undefined;
        if (failure) throw new ExecStartError(req.args, failure, req.location);
        throw new ExecFailedError(req.args, outcome.exitCode, tail, req.location);
      }
      return { containerId: id, exitCode: 0, emulated: !how.native };
    } finally {
      if (needsDelete) await runcDeleteForce(this.#runc, id);
      if (overlay) await removeUpperStubs(overlay.upper, overlayStubs);
      else await removeMountStubs(rootfs, stubs);
      await removeBundleDir(this.#bundles, id);
    }
  }

  #runContainer(id: string, bundle: string, options: RunOptions) {
    const { signal, onOutput, timeoutMs } = options;
    const tail = new OutputTail();
    const args = [...runcGlobalArgs(this.#runc, join(bundle, "runc.log")), "run", "--bundle", bundle, id];
    const stdio = options.stdio ?? "pipes";
    const child = spawn(this.#runc.binary, args, {
      stdio:
        stdio === "terminal"
          ? ["inherit", "inherit", "inherit"]
          : [stdio === "stdin" ? "inherit" : "ignore", "pipe", "pipe"],
    });
    let exited = false;
    let aborted = false;
    let timedOut = false;
    let killing: Promise<void> | undefined;

    // runc kill fails until the container exists; keep trying until runc run itself has returned.
    const kill = () => {
      killing ??= (async () => {
        while (!exited) {
          await runcKill(this.#runc, id);
          if (!exited) await new Promise((r) => setTimeout(r, 100));
        }
      })();
    };
    const onAbort = () => {
      aborted = true;
      kill();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const watchdog =
      timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            kill();
          }, timeoutMs)
        : undefined;

    // Both pipes are drained to EOF and never destroyed: closing them early would SIGPIPE the step,
    // and an emulated PID 1 dying of SIGPIPE hangs QEMU 7.2.
    for (const [stream, pipe] of [
      ["stdout", child.stdout],
      ["stderr", child.stderr],
    ] as const) {
      pipe?.on("data", (chunk: Buffer) => {
        tail.push(chunk);
        try {
          onOutput?.(stream, chunk);
        } catch {
          // A failing listener must not stop the draining.
        }
      });
    }

    return new Promise<{
      exitCode: number;
      aborted: boolean;
      timedOut: boolean;
      killed: boolean;
      tail: OutputTail;
    }>((resolve, reject) => {
      child.on("error", (e) => {
        exited = true;
        cleanup();
        reject(
          (e as NodeJS.ErrnoException).code === "ENOENT"
            ? new ExecStartError([this.#runc.binary], "runc is not installed (apt-get install runc)")
            : e,
        );
      });
      child.on("close", async (code, sig) => {
        exited = true;
        cleanup();
        await killing;
        resolve({
          exitCode: code ?? 128 + (sig ? signalNumber(sig) : 0),
          aborted,
          timedOut: timedOut && !aborted,
          killed: killing !== undefined,
          tail,
        });
      });
    });

    function cleanup() {
      if (watchdog) clearTimeout(watchdog);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

/** Promise.all that lets every branch finish before failing, so no write lands after the cleanup. */
async function allSettledOrThrow<T extends readonly unknown[]>(
  promises: [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

function signalNumber(sig: NodeJS.Signals): number {
  return osConstants.signals[sig] ?? 0;
}
