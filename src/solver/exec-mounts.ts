/**
 * The extra mounts of a RUN step, turned from graph mounts into host directories the executor binds:
 * other inputs as read-only views (or throwaway writable ones), cache mounts as persistent directories
 * by id, tmpfs, secrets as files in a private directory on /dev/shm (memory, never a layer, never
 * the cache, never a log) or as environment variables, and forwarded ssh agents as a socket of our own
 * that relays to the client's agent (see ssh-proxy.ts).
 */

import { execFile } from "node:child_process";
import { lchown, lstat, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../errors/user-error.ts";
import { uniqueSuffix } from "../fsutil/atomic-file.ts";
import { chmodNoFollow } from "../fsutil/no-follow.ts";
import { makePrivateDir } from "../fsutil/private-dir.ts";
import type { ExecMount as GraphMount } from "../graph/types.ts";
import type { Platform } from "../oci/platform.ts";
import { type ExecMount, resolveInRoot, type SnapshotView } from "../worker/worker.ts";
import { type CacheMountSeed, restoreCacheMount } from "./cache-mount-archive.ts";
import { cacheMountDirName, cacheMountKey } from "./cache-mount-key.ts";
import type { RunEnv } from "./run-env.ts";
import { startAgentProxy } from "./ssh-proxy.ts";

export interface PreparedMounts {
  mounts: ExecMount[];
  /** `KEY=value` of secrets exposed as environment variables. */
  env: string[];
  /** The values of the secrets the step sees, to mask in its output. */
  secretValues: string[];
  /** Releases views, removes secret files and unlocks cache mounts; safe to call once. */
  cleanup(): Promise<void>;
}

async function secretDir(): Promise<string> {
  // /dev/shm is memory: a secret written there never reaches a disk.
  const dir = await makePrivateDir("secret");
  if (dir === undefined)
    throw new UserError("cannot create a private directory for secrets", {
      hint: "make /dev/shm or $TMPDIR writable",
    });
  return dir;
}

/**
 * The step the mounts are for: its progress id (for "waiting for cache mount" statuses), its name, and the
 * platform it runs as (cache mounts are kept per platform: cache-mount-key.ts).
 */
export interface MountStep {
  id: string;
  name: string;
  platform: Platform;
}

export async function prepareMounts(
  env: RunEnv,
  mounts: readonly GraphMount[],
  inputChains: readonly (readonly string[])[],
  step: MountStep,
): Promise<PreparedMounts> {
  const where = step.name;
  const out: ExecMount[] = [];
  const extraEnv: string[] = [];
  const secretValues: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  };
  try {
    for (const m of mounts) {
      switch (m.type) {
        case "bind": {
          const view = await env.worker.view(inputChains[m.input] ?? [], !m.readonly);
          cleanups.push(() => view.release());
          out.push({
            type: "bind",
            source: await existingPath(view, m.source, `${where}: bind mount source`),
            destination: m.target,
            readonly: m.readonly,
          });
          break;
        }
        case "cache": {
          const { dir, release } = await cacheDir(env, m, inputChains, step);
          cleanups.push(release);
          out.push(
            m.readonly
              ? { type: "bind", source: dir, destination: m.target, readonly: true }
              : { type: "cache", source: dir, destination: m.target },
          );
          break;
        }
        case "tmpfs":
          out.push({
            type: "tmpfs",
            destination: m.target,
            ...(m.size === undefined ? {} : { sizeBytes: m.size }),
          });
          break;
        case "secret": {
          const value = await env.secrets?.(m.id);
          if (value === undefined) {
            if (m.required) throw missingSecret(m.id);
            break;
          }
          secretValues.push(value.toString("utf8"));
          if (m.env !== undefined) extraEnv.push(`${m.env}=${value.toString("utf8")}`);
          if (m.target !== undefined) {
            const dir = await secretDir();
            cleanups.push(() => rm(dir, { recursive: true, force: true }));
            const file = join(dir, "secret");
            await writeFile(file, value, { mode: 0o600 });
            await lchown(file, m.uid, m.gid);
            chmodNoFollow(file, m.mode);
            out.push({ type: "bind", source: file, destination: m.target, readonly: true });
          }
          break;
        }
        case "ssh": {
          const agent = await env.sshAgents?.socket(m.id);
          if (agent === undefined) {
            if (m.required) throw missingSshAgent(m.id);
            break;
          }
          const proxy = await startAgentProxy(agent, { uid: m.uid, gid: m.gid, mode: m.mode });
          cleanups.push(() => proxy.close());
          out.push({ type: "bind", source: proxy.socket, destination: m.target, readonly: true });
          break;
        }
      }
    }
  } catch (e) {
    await cleanup();
    throw e;
  }
  return { mounts: out, env: extraEnv, secretValues, cleanup };
}

export function missingSecret(id: string): UserError {
  // BuildKit's words first (what users search for), then ours.
  return new UserError(`secret ${id}: not found (the step requires it and the build was given none)`, {
    hint: `pass it with --secret id=${id},src=FILE or --secret id=${id},env=VARIABLE`,
  });
}

export function missingSshAgent(id: string): UserError {
  // BuildKit's words first (what users search for), then ours.
  return new UserError(
    `no SSH key ${JSON.stringify(id)} forwarded from the client (the step requires it: --mount=type=ssh,required=true)`,
    {
      hint:
        id === "default"
          ? "forward your agent with --ssh default (uses $SSH_AUTH_SOCK), or keys with --ssh default=~/.ssh/id_ed25519"
          : `forward it with --ssh ${id}=SOCKET_OR_KEY_FILE[,KEY_FILE…]`,
    },
  );
}

/**
 * SSH_AUTH_SOCK for a step with ssh mounts, as BuildKit sets it: the first ssh mount's socket, unless the
 * step's environment already names one. Empty when the step has no ssh mount.
 */
export function sshAuthSockEnv(stepEnv: readonly string[], mounts: readonly GraphMount[]): string[] {
  const first = mounts.find((m) => m.type === "ssh");
  if (!first || stepEnv.some((kv) => kv.startsWith("SSH_AUTH_SOCK="))) return [];
  return [`SSH_AUTH_SOCK=${first.target}`];
}

/** The host path of `path` inside a view, which must exist (symlinks resolved inside the view). */
async function existingPath(view: SnapshotView, path: string, what: string): Promise<string> {
  const host = resolveInRoot(view.root, path).host;
  try {
    await lstat(host);
  } catch {
    throw new UserError(`${what} ${path} does not exist`, {
      hint: "mount a path that the source stage, image or context has",
    });
  }
  return host;
}

/** How long a `sharing=locked` cache mount waits for another step by default before failing. */
export const defaultCacheLockTimeoutMs = 10 * 60 * 1000;

/**
 * The persistent directory of a cache mount id. New ones get the mount's mode and owner (and the `from`
 * input's files when it has one). Sharing, as BuildKit: `shared` lets every step use the directory at
 * once; `locked` gives it to one step at a time (within this process and across processes), the others
 * wait (with a progress status, for at most the build's cache lock timeout); `private` gives a step the
 * directory when no one else holds it, else another copy of that id (made fresh), so concurrent users
 * never see each other's files.
 */
async function cacheDir(
  env: RunEnv,
  m: Extract<GraphMount, { type: "cache" }>,
  inputChains: readonly (readonly string[])[],
  step: MountStep,
): Promise<{ dir: string; release: () => Promise<void> }> {
  const key = cacheMountKey(m, step.platform);
  const hex = cacheMountDirName(key);
  let name = hex;
  let release = async () => {};
  if (m.sharing === "locked") {
    release = (await waitForCacheLock(env, m.id, hex, step)).release;
  } else if (m.sharing === "private") {
    for (let n = 0; ; n++) {
      const candidate = n === 0 ? hex : `${hex}-private-${n}`;
      const lock = await env.ws.locks.tryAcquire(`cache-${candidate}`);
      if (!lock) continue;
      name = candidate;
      release = lock.release;
      break;
    }
  }
  const dir = join(env.ws.root, "cache-mounts", name);
  const exists = () =>
    lstat(dir).then(
      () => true,
      () => false,
    );
  try {
    if (!(await exists())) {
      // One seeder at a time (across processes): a rename would replace a directory that is still empty,
      // which another step may already have mounted; the second seeder finds the first one's directory.
      const seeding = await env.ws.locks.acquire(`cache-seed-${name}`, env.signal);
      try {
        if (!(await exists())) {
          const legacy =
            key.platform === undefined ? undefined : cacheMountDirName({ id: m.id, platform: undefined });
          await seedCacheDir(env, m, inputChains, dir, { seed: env.cacheMountSeeds.get(hex), legacy }, step);
        }
      } finally {
        await seeding.release();
      }
    }
  } catch (e) {
    await release();
    throw e;
  }
  return { dir, release };
}

/** Takes a locked cache mount's lock, saying so while it waits; fails after the bound with a clear error. */
async function waitForCacheLock(
  env: RunEnv,
  id: string,
  hex: string,
  step: MountStep,
): Promise<{ release: () => Promise<void> }> {
  const free = await env.ws.locks.tryAcquire(`cache-${hex}`);
  if (free) return free;
  const bound = env.cacheLockTimeoutMs ?? defaultCacheLockTimeoutMs;
  const statusId = `cache-lock:${hex}`;
  const status = `waiting for cache mount id=${id} (sharing=locked): another step is using it`;
  env.progress.status(step.id, statusId, status);
  const timeout = AbortSignal.timeout(bound);
  try {
    const lock = await env.ws.locks.acquire(`cache-${hex}`, AbortSignal.any([env.signal, timeout]));
    env.progress.status(step.id, statusId, status, { done: true });
    return lock;
  } catch (e) {
    if (!timeout.aborted || env.signal.aborted) throw e;
    throw new UserError(
      `${step.name}: cache mount id=${id} (sharing=locked) is still in use by another step after ${Math.round(bound / 1000)}s`,
      {
        hint: "another build (or step) holds this cache: wait for it, use sharing=shared or private, or raise the bound with POLYARCH_CACHE_LOCK_TIMEOUT=SECONDS",
      },
    );
  }
}

/**
 * Makes a new cache directory aside and renames it in, so a concurrent step never sees it half-seeded.
 * It starts from, in this order: the directory this id had on this state dir before cache mounts were
 * kept per platform (`legacy`; only for a step of the host's own platform, whose files it mostly holds),
 * what --cache-from carries for it (`seed`: the same cache, as an earlier build left it), the mount's
 * `from` input, or nothing. It is called only for a directory that does not exist, under the seed lock
 * (see cacheDir), so a restore never replaces what a build holds or already has.
 */
async function seedCacheDir(
  env: RunEnv,
  m: Extract<GraphMount, { type: "cache" }>,
  inputChains: readonly (readonly string[])[],
  dir: string,
  from: { seed: CacheMountSeed | undefined; legacy: string | undefined },
  step: MountStep,
): Promise<void> {
  // Made aside and renamed, so a concurrent step never sees a half-seeded cache. The name is unique per
  // call: the platforms of one build start their steps at the same moment, in the same process.
  const staging = `${dir}.new-${uniqueSuffix()}`;
  await mkdir(staging, { recursive: true });
  let restored = from.legacy !== undefined && (await adoptLegacyDir(env, from.legacy, staging, step));
  const seed = from.seed;
  if (!restored && seed) {
    const statusId = `cache-restore:${staging}`;
    const status = `restoring cache mount id=${m.id} from ${seed.where}`;
    env.progress.status(step.id, statusId, status);
    const warn = (message: string) => env.progress.emit({ type: "warning", message, at: Date.now() });
    restored = await restoreCacheMount(seed, staging, env.worker, warn);
    env.progress.status(step.id, statusId, status, { done: true });
    if (!restored) await mkdir(staging, { recursive: true });
  }
  if (!restored && m.input !== undefined) {
    const view = await env.worker.view(inputChains[m.input] ?? []);
    try {
      const from = resolveInRoot(view.root, m.source).host;
      await copyTree(from, staging);
    } finally {
      await view.release();
    }
  }
  await lchown(staging, m.uid, m.gid);
  chmodNoFollow(staging, m.mode);
  await mkdir(join(env.ws.root, "cache-mounts"), { recursive: true });
  await rename(staging, dir).catch(async () => rm(staging, { recursive: true, force: true }));
}

/**
 * Copies an id's directory from before the per-platform split into `staging` (kept as it is: a mount of
 * that id with sharing=shared still uses it). Skipped when the step is emulated, or when a step holds the
 * old directory's lock; a failed copy leaves `staging` empty.
 */
async function adoptLegacyDir(env: RunEnv, name: string, staging: string, step: MountStep): Promise<boolean> {
  const legacy = join(env.ws.root, "cache-mounts", name);
  if (
    !(await lstat(legacy).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    return false;
  if ((await env.worker.checkPlatform(step.platform)).emulated) return false;
  const lock = await env.ws.locks.tryAcquire(`cache-${name}`);
  if (!lock) return false;
  try {
    await copyTree(legacy, staging);
    return true;
  } catch {
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    return false;
  } finally {
    await lock.release();
  }
}

function copyTree(from: string, to: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    execFile("cp", ["-a", "--reflink=auto", `${from}/.`, `${to}/`], (e) => (e ? reject(e) : resolve()));
  });
}
