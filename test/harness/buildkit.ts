import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, openSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cacheSubdir, publish, scratchPathFor } from "./cache.ts";
import { forgetDir, removeOnExit } from "./daemon.ts";
import { run, runOk } from "./exec.ts";

/**
 * A real BuildKit (buildkitd + buildctl v0.24.0, the oracle of Dockerfile semantics) for differential tests:
 * one daemon per test file, and what a user observes of a build (the exported tree, the image config, the
 * error), in the same shape as test/differential/support.ts gives for polyarch.
 *
 *   await using bk = await startBuildKit([reg.host]);
 *   const seen = await bk.build(ctx, { output: "local" });
 */

const repoRoot = new URL("../../", import.meta.url).pathname;
const tarball = "buildkit-v0.24.0-linux-amd64.tar.xz";

/** The directory holding start.sh, stop.sh and the release tarball; an Error saying where it looked otherwise. */
export function findBuildKitDir(): string {
  const candidates = [
    process.env.POLYARCH_BUILDKIT_DIR,
    "/work/shared/buildkit",
    resolve(repoRoot, "../shared/buildkit"),
  ].filter((d): d is string => d !== undefined && d !== "");
  for (const dir of candidates)
    if (existsSync(join(dir, "start.sh")) && existsSync(join(dir, tarball))) return dir;
  throw new Error(
    `no BuildKit for the differential tests: looked for start.sh and ${tarball} in ${candidates.join(", ")}. ` +
      "Set POLYARCH_BUILDKIT_DIR to the directory that holds them.",
  );
}

/** One entry of an exported tree, with everything a user can see of it. */
export interface TreeEntry {
  path: string;
  type: "file" | "dir" | "symlink" | "other";
  mode: string;
  uid: number;
  gid: number;
  linkTarget?: string;
  /** The file's text when it is short and printable, else its sha256. */
  content?: string;
}

/** What a build showed its user: success with its outputs, or failure with its error text. */
export interface Observed {
  ok: boolean;
  /** The error lines (`error: …`) the build printed, or "" on success. */
  error: string;
  /** Everything it printed, for assertion messages. */
  output: string;
  tree?: TreeEntry[];
  config?: Record<string, unknown>;
}

export interface BuildCase {
  /** "local": the tree; "oci": the image config (from an OCI archive). */
  output: "local" | "oci";
  platform?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  /** id → file */
  secrets?: Record<string, string>;
  /** More buildctl arguments (e.g. `--opt add-hosts=h=1.2.3.4`), for options buildctl spells its own way. */
  buildkitArgs?: string[];
  /** The same options as polyarch's (buildx's) flags. */
  polyarchArgs?: string[];
  /** A git or tarball URL that is the context instead of the directory (`--opt context=URL`). */
  remoteContext?: string;
  /** NAME → a git or tarball URL or docker-image://REF (`--opt context:NAME=…`, `--build-context`). */
  namedContexts?: Record<string, string>;
}

export interface BuildKit extends AsyncDisposable {
  address: string;
  build(context: string, options: BuildCase): Promise<Observed>;
  /** `--call check` as buildx asks for it (the frontend.lint subrequest): what buildctl prints. */
  check(
    context: string,
    options?: { buildArgs?: Record<string, string> },
  ): Promise<{ code: number; output: string }>;
  stop(): Promise<void>;
}

// The binaries are unpacked once per machine into the test cache; each daemon's state dir links to them.
async function cachedBinaries(kitDir: string): Promise<string> {
  const bin = join(await cacheSubdir("buildkit"), "v0.24.0-bin");
  if (existsSync(join(bin, "buildctl"))) return bin;
  const scratch = scratchPathFor(bin);
  await mkdir(scratch, { recursive: true });
  await runOk("sh", [
    "-c",
    `xz -dc "$1" | tar -x -C "$2" buildkitd buildctl`,
    "sh",
    join(kitDir, tarball),
    scratch,
  ]);
  await publish(scratch, bin);
  return bin;
}

export interface StartOptions {
  /** Also listen on this loopback host:port (`tcp://` endpoint). */
  tcp?: string;
  /** Serve the tcp endpoint with TLS: the daemon's certificate and key, and the CA its clients must show. */
  tls?: { cert: string; key: string; clientCa: string };
}

/** Starts a buildkitd that may pull from the given plain-HTTP registries (host:port). */
export async function startBuildKit(
  registryHosts: readonly string[],
  options: StartOptions = {},
): Promise<BuildKit & { state: string; pid: number; tcpAddress?: string }> {
  const kitDir = findBuildKitDir();
  const bin = await cachedBinaries(kitDir);
  const state = await mkdtemp(join(tmpdir(), "polyarch-buildkit-"));
  removeOnExit(state);
  await mkdir(join(state, "bin"));
  for (const name of ["buildkitd", "buildctl"]) await symlink(join(bin, name), join(state, "bin", name));
  const env = options.tcp ? { ...process.env, TCP: options.tcp } : process.env;
  const started = await run(join(kitDir, "start.sh"), [state, ...registryHosts], { timeoutMs: 60_000, env });
  if (started.code !== 0) throw new Error(`BuildKit did not start (${kitDir}/start.sh):\n${started.stderr}`);
  if (options.tls) await restartWithTls(kitDir, state, options.tls);
  const address = started.stdout.trim();
  const pid = Number((await readFile(join(state, "buildkitd.pid"), "utf8")).trim());
  // start.sh detaches the daemon (setsid); kill it if this test process ends without stop().
  const killer = () => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  process.on("exit", killer);
  let seq = 0;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await run(join(kitDir, "stop.sh"), [state], { env: { ...process.env, PURGE: "1" } });
      process.off("exit", killer);
      await rm(state, { recursive: true, force: true });
      forgetDir(state);
    })();
    return stopping;
  };
  return {
    address,
    state,
    pid,
    ...(options.tcp ? { tcpAddress: `tcp://${options.tcp}` } : {}),
    async build(context, options) {
      const out = join(state, `out-${++seq}`);
      const args = [
        "--addr",
        address,
        "build",
        "--progress=plain",
        "--frontend",
        "dockerfile.v0",
        ...(options.remoteContext
          ? ["--opt", `context=${options.remoteContext}`]
          : ["--local", `context=${context}`, "--local", `dockerfile=${context}`]),
        "--opt",
        `platform=${options.platform ?? "linux/amd64"}`,
      ];
      for (const [k, v] of Object.entries(options.buildArgs ?? {})) args.push("--opt", `build-arg:${k}=${v}`);
      if (options.target) args.push("--opt", `target=${options.target}`);
      for (const [name, value] of Object.entries(options.namedContexts ?? {}))
        args.push("--opt", `context:${name}=${value}`);
      for (const [id, src] of Object.entries(options.secrets ?? {}))
        args.push("--secret", `id=${id},src=${src}`);
      args.push(...(options.buildkitArgs ?? []));
      args.push(
        "--output",
        options.output === "local" ? `type=local,dest=${out}` : `type=oci,dest=${out}.tar`,
      );
      const r = await run(join(state, "bin", "buildctl"), args, { timeoutMs: 180_000 });
      const output = r.stderr + r.stdout;
      if (r.code !== 0) return { ok: false, error: errorLines(output), output };
      return options.output === "local"
        ? { ok: true, error: "", output, tree: await readTree(out) }
        : { ok: true, error: "", output, config: await imageConfigOfOciTar(`${out}.tar`, state) };
    },
    async check(context, options = {}) {
      const args = [
        "--addr",
        address,
        "build",
        "--progress=plain",
        "--frontend",
        "dockerfile.v0",
        "--local",
        `context=${context}`,
        "--local",
        `dockerfile=${context}`,
        "--opt",
        "requestid=frontend.lint",
        "--opt",
        "call=check",
      ];
      for (const [k, v] of Object.entries(options.buildArgs ?? {})) args.push("--opt", `build-arg:${k}=${v}`);
      const r = await run(join(state, "bin", "buildctl"), args, { timeoutMs: 60_000 });
      return { code: r.code, output: r.stderr + r.stdout };
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * start.sh serves tcp without TLS; for mutual TLS the daemon is restarted on the same config with the
 * [grpc.tls] section added (buildkitd then requires a client certificate signed by `clientCa`).
 */
async function restartWithTls(
  kitDir: string,
  state: string,
  tls: { cert: string; key: string; clientCa: string },
): Promise<void> {
  await run(join(kitDir, "stop.sh"), [state]);
  const config = join(state, "buildkitd.toml");
  const text = await readFile(config, "utf8");
  const section = `[grpc.tls]\n  cert = "${tls.cert}"\n  key = "${tls.key}"\n  ca = "${tls.clientCa}"\n`;
  await writeFile(config, text.replace(/^\[worker\.oci\]/m, `${section}[worker.oci]`));
  const sock = join(state, "buildkitd.sock");
  await rm(sock, { force: true });
  const daemon = spawn(
    "setsid",
    [join(state, "bin", "buildkitd"), "--config", config, "--oci-worker=true", "--containerd-worker=false"],
    {
      stdio: [
        "ignore",
        openSync(join(state, "buildkitd.log"), "a"),
        openSync(join(state, "buildkitd.log"), "a"),
      ],
      detached: true,
    },
  );
  daemon.unref();
  await writeFile(join(state, "buildkitd.pid"), `${daemon.pid}\n`);
  for (let i = 0; i < 150; i++) {
    const r = await run(join(state, "bin", "buildctl"), ["--addr", `unix://${sock}`, "debug", "workers"]);
    if (r.code === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`buildkitd with TLS did not come up (log: ${state}/buildkitd.log)`);
}

/** The `error: …` lines of a build's output (BuildKit's and polyarch's both start that way). */
export function errorLines(output: string): string {
  return output
    .split("\n")
    .filter((l) => l.startsWith("error: "))
    .join("\n");
}

/** Every entry of an exported directory, sorted by path, with type, mode, owner, link target and content. */
export async function readTree(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (rel: string) => {
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const abs = join(root, path);
      const st = await lstat(abs);
      const type = st.isFile()
        ? "file"
        : st.isDirectory()
          ? "dir"
          : st.isSymbolicLink()
            ? "symlink"
            : "other";
      const entry: TreeEntry = { path, type, mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid };
      if (type === "symlink") entry.linkTarget = await readlink(abs);
      if (type === "file") {
        const data = await readFile(abs);
        const text = data.toString("utf8");
        entry.content =
          data.length <= 256 && !/[^\x20-\x7e\n\t]/.test(text)
            ? text
            : `sha256:${createHash("sha256").update(data).digest("hex")}`;
      }
      out.push(entry);
      if (type === "dir") await walk(path);
    }
  };
  await walk("");
  return out;
}

/** The image config of the (single, or linux/amd64) image in an OCI archive. */
export async function imageConfigOfOciTar(
  tar: string,
  scratchParent: string,
): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(scratchParent, "oci-"));
  try {
    await runOk("tar", ["-xf", tar, "-C", dir]);
    const blob = async (digest: string) =>
      JSON.parse(await readFile(join(dir, "blobs", ...digest.split(":")), "utf8")) as Record<string, unknown>;
    let node = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as Record<string, unknown>;
    for (let depth = 0; depth < 4 && Array.isArray(node.manifests); depth++) {
      const list = node.manifests as { digest: string; platform?: { architecture?: string } }[];
      const pick = list.find((m) => m.platform?.architecture === "amd64") ?? list[0]!;
      node = await blob(pick.digest);
    }
    return blob((node.config as { digest: string }).digest);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
