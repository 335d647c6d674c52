import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Daemon, forgetDir, removeOnExit, startDaemon } from "./daemon.ts";
import { run, runOk } from "./exec.ts";

/**
 * Container engines for `--load` tests, each confined to a temp dir so it never meets the host's:
 *
 * - `startDockerd()`: Debian's docker.io (dockerd 20.10) with its own data root, exec root (its own
 *   containerd lives there), pidfile, config file and unix socket; `--iptables=false --bridge=none` so it
 *   changes nothing in the host's network. Point polyarch at it with `DOCKER_HOST`.
 * - `startPodman()`: podman with its own storage (graph root, run root) through CONTAINERS_STORAGE_CONF, its
 *   API service on a socket in the temp dir (`CONTAINER_HOST`), and `podman(args)` for the CLI with the
 *   same storage, runc and cgroupfs (Debian's crun fails on these machines' cgroup layout).
 */

export interface TestDockerd extends AsyncDisposable {
  /** `unix:///…/docker.sock` */
  host: string;
  env: { DOCKER_HOST: string };
  /** The docker CLI against this daemon. */
  docker(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export async function startDockerd(): Promise<TestDockerd> {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-dockerd-"));
  removeOnExit(dir);
  const config = join(dir, "daemon.json");
  await writeFile(config, "{}\n");
  const socket = join(dir, "docker.sock");
  const host = `unix://${socket}`;
  let daemon: Daemon;
  try {
    daemon = await startDaemon(
      "dockerd",
      [
        `--data-root=${join(dir, "data")}`,
        `--exec-root=${join(dir, "exec")}`,
        `--pidfile=${join(dir, "docker.pid")}`,
        `--config-file=${config}`,
        `--host=${host}`,
        "--iptables=false",
        "--ip-masq=false",
        "--ip-forward=false",
        "--bridge=none",
      ],
      /API listen on/,
      { timeoutMs: 60_000 },
    );
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const docker = (args: readonly string[]) =>
    run("docker", ["--host", host, ...args], { env: { ...process.env, DOCKER_CONFIG: join(dir, "cli") } });
  const stop = async () => {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
    forgetDir(dir);
  };
  return { host, env: { DOCKER_HOST: host }, docker, stop, [Symbol.asyncDispose]: stop };
}

export interface TestPodman extends AsyncDisposable {
  /** `unix:///…/podman.sock`, podman's API service. */
  host: string;
  /** Storage for podman run by polyarch (`podman load`): CONTAINERS_STORAGE_CONF and a PATH with podman. */
  storageEnv: Record<string, string>;
  /** The podman CLI with this storage. */
  podman(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Starts the API service on `host` (once). */
  startService(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPodman(): Promise<TestPodman> {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-podman-"));
  removeOnExit(dir);
  await mkdir(join(dir, "tmp"));
  const storageConf = join(dir, "storage.conf");
  await writeFile(
    storageConf,
    `[storage]\ndriver = "overlay"\ngraphroot = "${join(dir, "graph")}"\nrunroot = "${join(dir, "run")}"\n`,
  );
  const containersConf = join(dir, "containers.conf");
  // podman's default nofile and nproc limits are above what runc may set here (it lacks CAP_SYS_RESOURCE):
  // the hard nofile limit, and a modest nproc (even the host's own hard nproc is refused).
  const hardNofile = (await runOk("bash", ["-c", "ulimit -Hn"])).stdout.trim();
  await writeFile(
    containersConf,
    `[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "runc"\ntmp_dir = "${join(dir, "tmp")}"\n` +
      `static_dir = "${join(dir, "graph", "libpod")}"\nvolume_path = "${join(dir, "graph", "volumes")}"\n` +
      `[containers]\ndefault_ulimits = ["nofile=${hardNofile}:${hardNofile}", "nproc=4096:4096"]\n[network]\nnetwork_config_dir = "${join(dir, "net")}"\n`,
  );
  const env = {
    CONTAINERS_STORAGE_CONF: storageConf,
    CONTAINERS_CONF: containersConf,
    XDG_RUNTIME_DIR: join(dir, "tmp"),
  };
  const socket = join(dir, "podman.sock");
  const host = `unix://${socket}`;
  let service: Daemon | undefined;
  const podman = (args: readonly string[]) => run("podman", args, { env: { ...process.env, ...env } });
  const stop = async () => {
    await service?.stop();
    // Unmounts what podman mounted under its graph root before the dir goes.
    await run("podman", ["system", "reset", "--force"], { env: { ...process.env, ...env } });
    await rm(dir, { recursive: true, force: true });
    forgetDir(dir);
  };
  return {
    host,
    storageEnv: env,
    podman,
    async startService() {
      if (service) return;
      service = await startDaemon(
        "podman",
        ["system", "service", "--log-level=info", "--time=0", host],
        /API service listening/,
        {
          timeoutMs: 60_000,
          env: { ...process.env, ...env },
        },
      );
      // The service answers once its socket exists.
      await runOk("sh", [
        "-c",
        `for i in $(seq 100); do [ -S "${socket}" ] && exit 0; sleep 0.1; done; exit 1`,
      ]);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
