/**
 * The library side of `polyarch du`, `polyarch prune` and the automatic collection after a build: opens the
 * state dir's parts (store, local worker) and reads the collection policy from the environment and
 * `polyarch.toml`.
 *
 * Policy, strongest first: POLYARCH_GC=off (or false/0) turns the automatic collection off;
 * POLYARCH_GC_KEEP_STORAGE=SIZE sets its limit; `[gc]` in `$XDG_CONFIG_HOME/polyarch/polyarch.toml` (else
 * `~/.config/polyarch/polyarch.toml`; POLYARCH_CONFIG names another file) with `enabled = false` and
 * `keep-storage = "10GB"`; else 10% of the state dir's filesystem, at most 20 GB (BuildKit's default).
 */
import { readFile, statfs } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { openContentStore } from "../content/local-store.ts";
import { defaultStateDir } from "../content/paths.ts";
import { prepareStateRoot } from "../content/state-root.ts";
import type { ContentStore } from "../content/types.ts";
import { UserError } from "../errors/user-error.ts";
import {
  defaultKeepStorage,
  defaultRules,
  type PruneRequest,
  parseSize,
  type UsageEntry,
} from "../solver/gc-policy.ts";
import { type PruneReport, StoreCollector, type StoreUsage } from "../solver/store-gc.ts";
import type { Worker } from "../worker/worker.ts";

export type { PruneReport, StoreUsage, UsageEntry };

/** Blobs younger than this are left by the automatic collection (a concurrent command may be writing). */
const autoGraceMs = 10_000;

async function collector(stateRoot?: string): Promise<StoreCollector> {
  const root = stateRoot ?? defaultStateDir();
  await prepareStateRoot(root);
  const store = await openContentStore(join(root, "content"));
  const { LocalWorker } = await import("../worker/local/local-worker.ts");
  return new StoreCollector(root, store, new LocalWorker({ stateRoot: root }));
}

/** What the state dir holds (`polyarch du`). */
export async function storeUsage(options: { stateRoot?: string } = {}): Promise<StoreUsage> {
  return (await collector(options.stateRoot)).usage();
}

/** Removes build cache as `polyarch prune` does; `all` also drops pulled base images' records. */
export async function pruneStore(
  request: PruneRequest,
  options: { stateRoot?: string } = {},
): Promise<PruneReport> {
  const c = await collector(options.stateRoot);
  const report = await c.prune([request], { wait: true, removeBaseImages: request.all });
  return report!;
}

export interface GcPolicy {
  enabled: boolean;
  keepStorageBytes: number;
  /** Where the limit came from, for messages. */
  source: string;
}

/** The automatic collection's policy (see the module comment). */
export async function gcPolicy(stateRoot: string, env: NodeJS.ProcessEnv = process.env): Promise<GcPolicy> {
  const file = configPath(env);
  const config = await readConfig(file);
  const off = (v: unknown) => v === false || (typeof v === "string" && /^(off|false|0|no)$/i.test(v));
  const enabled = !(off(env.POLYARCH_GC) || off(config.enabled));
  if (env.POLYARCH_GC_KEEP_STORAGE) {
    return {
      enabled,
      keepStorageBytes: parseSize(env.POLYARCH_GC_KEEP_STORAGE, "POLYARCH_GC_KEEP_STORAGE"),
      source: "POLYARCH_GC_KEEP_STORAGE",
    };
  }
  if (config.keepStorage !== undefined) {
    return {
      enabled,
      keepStorageBytes: parseSize(String(config.keepStorage), `${file}: [gc] keep-storage`),
      source: file,
    };
  }
  const fs = await statfs(stateRoot).catch(() => undefined);
  return {
    enabled,
    keepStorageBytes: defaultKeepStorage(fs ? fs.blocks * fs.bsize : undefined),
    source: "default",
  };
}

function configPath(env: NodeJS.ProcessEnv): string {
  if (env.POLYARCH_CONFIG) return env.POLYARCH_CONFIG;
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), ".config");
  return join(base, "polyarch", "polyarch.toml");
}

async function readConfig(file: string): Promise<{ enabled?: unknown; keepStorage?: unknown }> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return {};
  }
  const { parse, TomlError } = await import("smol-toml");
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    const where = e instanceof TomlError ? `${file}:${e.line}:${e.column}` : file;
    throw new UserError(`${where}: not valid TOML (${(e as Error).message.split("\n")[0]})`, {
      hint: 'fix the file; the collection reads [gc] enabled = true|false and keep-storage = "10GB"',
    });
  }
  const gc = doc.gc;
  if (gc === undefined) return {};
  if (typeof gc !== "object" || gc === null || Array.isArray(gc)) {
    throw new UserError(`${file}: gc must be a table ([gc])`, {
      hint: 'write [gc] then keep-storage = "10GB"',
    });
  }
  const t = gc as Record<string, unknown>;
  for (const k of Object.keys(t)) {
    if (k !== "enabled" && k !== "keep-storage") {
      throw new UserError(`${file}: [gc] ${k} is not a setting polyarch knows`, {
        hint: "the settings are enabled and keep-storage",
      });
    }
  }
  if (t.enabled !== undefined && typeof t.enabled !== "boolean") {
    throw new UserError(`${file}: [gc] enabled must be true or false`, { hint: "write enabled = false" });
  }
  if (
    t["keep-storage"] !== undefined &&
    typeof t["keep-storage"] !== "string" &&
    typeof t["keep-storage"] !== "number"
  ) {
    throw new UserError(`${file}: [gc] keep-storage must be a size`, { hint: 'write keep-storage = "10GB"' });
  }
  return { enabled: t.enabled, keepStorage: t["keep-storage"] };
}

/**
 * After a build: collects when the state dir holds more than the policy's limit. Never waits for another
 * collection or a probing build (the next build collects instead), never fails the build.
 */
export async function collectAfterBuild(
  stateRoot: string,
  store: ContentStore,
  worker: Worker,
  warn: (message: string) => void,
): Promise<PruneReport | undefined> {
  let policy: GcPolicy;
  try {
    policy = await gcPolicy(stateRoot);
  } catch (e) {
    warn(`automatic garbage collection is off for this build: ${(e as Error).message}`);
    return undefined;
  }
  if (!policy.enabled) return undefined;
  try {
    const c = new StoreCollector(stateRoot, store, worker);
    return await c.prune(defaultRules(policy.keepStorageBytes), { wait: false, gracePeriodMs: autoGraceMs });
  } catch (e) {
    warn(`automatic garbage collection failed: ${(e as Error).message}`);
    return undefined;
  }
}
