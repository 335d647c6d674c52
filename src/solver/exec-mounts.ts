/**
 * The extra mounts of a RUN step, turned from graph mounts into host directories the executor binds:
 * other inputs as read-only views (or throwaway writable ones), cache mounts as persistent directories
 * by id, tmpfs, and secrets as files in a private directory on /dev/shm (memory, never a layer, never
 * the cache, never a log) or as environment variables.
 */

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, chown, lstat, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../errors/user-error.ts";
import type { ExecMount as GraphMount } from "../graph/types.ts";
import { type ExecMount, resolveInRootAsync as resolveInRoot, type SnapshotView } from "../worker/worker.ts";
import type { RunEnv } from "./run-env.ts";

export interface PreparedMounts {
  mounts: ExecMount[];
  /** `KEY=value` of secrets exposed as environment variables. */
  env: string[];
  /** The values of the secrets the step sees, to mask in its output. */
  secretValues: string[];
  /** Releases views, removes secret files and unlocks cache mounts; safe to call once. */
  cleanup(): Promise<void>;
}

/** Process-wide queue per cache id, for `sharing=locked`. */
const lockedCaches = new Map<string, Promise<void>>();

async function secretDir(): Promise<string> {
  // /dev/shm is memory: a secret written there never reaches a disk.
  for (const base of ["/dev/shm", tmpdir()]) {
    try {
      return await mkdtemp(join(base, "polyarch-secret-"));
    } catch {
      // try the next place
    }
  }
  throw new Error("cannot create a directory for secrets");
}

export async function prepareMounts(
  env: RunEnv,
  mounts: readonly GraphMount[],
  inputChains: readonly (readonly string[])[],
  where: string,
): Promise<PreparedMounts> {
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
          const { dir, release } = await cacheDir(env, m, inputChains);
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
            await chown(file, m.uid, m.gid);
            await chmod(file, m.mode);
            out.push({ type: "bind", source: file, destination: m.target, readonly: true });
          }
          break;
        }
        case "ssh":
          if (m.required) throw sshUnsupported();
          break;
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

export function sshUnsupported(): UserError {
  return new UserError("RUN --mount=type=ssh is not supported yet", {
    hint: "use a secret mount (--mount=type=secret) for credentials, or required=false",
  });
}

/** The host path of `path` inside a view, which must exist (symlinks resolved inside the view). */
async function existingPath(view: SnapshotView, path: string, what: string): Promise<string> {
  const host = await resolveInRoot(view.root, path);
  try {
    await lstat(host);
  } catch {
    throw new UserError(`${what} ${path} does not exist`, {
      hint: "mount a path that the source stage, image or context has",
    });
  }
  return host;
}

/**
 * The persistent directory of a cache mount id. New ones get the mount's mode and owner (and the `from`
 * input's files when it has one). `locked` sharing gives the directory to one step at a time, within
 * this process and across processes; `shared` and `private` both share it (private is treated as shared).
 */
async function cacheDir(
  env: RunEnv,
  m: Extract<GraphMount, { type: "cache" }>,
  inputChains: readonly (readonly string[])[],
): Promise<{ dir: string; release: () => Promise<void> }> {
  const hex = createHash("sha256").update(m.id).digest("hex");
  const dir = join(env.ws.root, "cache-mounts", hex);
  let release = async () => {};
  if (m.sharing === "locked") {
    const previous = lockedCaches.get(hex) ?? Promise.resolve();
    let unlock!: () => void;
    const mine = new Promise<void>((r) => {
      unlock = r;
    });
    lockedCaches.set(
      hex,
      previous.then(() => mine),
    );
    await previous;
    const lock = await env.ws.locks.acquire(`cache-${hex}`, env.signal).catch((e) => {
      unlock();
      throw e;
    });
    release = async () => {
      await lock.release();
      unlock();
    };
  }
  try {
    let fresh = false;
    try {
      await lstat(dir);
    } catch {
      fresh = true;
    }
    if (fresh) {
      // Made aside and renamed, so a concurrent step never sees a half-seeded cache.
      const staging = `${dir}.new-${process.pid}-${Date.now()}`;
      await mkdir(staging, { recursive: true });
      if (m.input !== undefined) {
        const view = await env.worker.view(inputChains[m.input] ?? []);
        try {
          const from = await resolveInRoot(view.root, m.source);
          await copyTree(from, staging);
        } finally {
          await view.release();
        }
      }
      await chown(staging, m.uid, m.gid);
      await chmod(staging, m.mode);
      await mkdir(join(env.ws.root, "cache-mounts"), { recursive: true });
      await rename(staging, dir).catch(async () => rm(staging, { recursive: true, force: true }));
    }
  } catch (e) {
    await release();
    throw e;
  }
  return { dir, release };
}

function copyTree(from: string, to: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    execFile("cp", ["-a", "--reflink=auto", `${from}/.`, `${to}/`], (e) => (e ? reject(e) : resolve()));
  });
}
