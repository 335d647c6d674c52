import { UserError } from "../errors/user-error.ts";
import { normalizePlatform, type Platform } from "../oci/platform.ts";
import { ControlClient } from "./control-client.ts";
import type { BuildKitEndpoint } from "./endpoint.ts";

/** What `ls` / `inspect --bootstrap` show of a BuildKit node: from BuildKit's own API. */
export interface BuildKitNodeInfo {
  /** e.g. "v0.24.0". */
  version: string;
  revision: string;
  /** Every platform the daemon's workers can build (native and emulated), without duplicates. */
  platforms: Platform[];
  workers: { id: string; platforms: Platform[]; labels: Record<string, string> }[];
}

/** Asks the daemon its version and its workers' platforms; a UserError naming the endpoint when unreachable. */
export async function inspectBuildKitNode(
  endpoint: BuildKitEndpoint,
  options: { timeoutMs?: number } = {},
): Promise<BuildKitNodeInfo> {
  const control = new ControlClient(endpoint, options);
  try {
    const [version, records] = await Promise.all([control.info(), control.listWorkers()]);
    const workers = records.map((w) => ({
      id: w.id,
      labels: w.labels,
      platforms: w.platforms.map((p) =>
        normalizePlatform({
          os: p.os,
          architecture: p.architecture,
          ...(p.variant ? { variant: p.variant } : {}),
        }),
      ),
    }));
    const seen = new Set<string>();
    const platforms: Platform[] = [];
    for (const p of workers.flatMap((w) => w.platforms)) {
      const key = `${p.os}/${p.architecture}/${p.variant ?? ""}`;
      if (!seen.has(key)) {
        seen.add(key);
        platforms.push(p);
      }
    }
    return { version: version.version, revision: version.revision, platforms, workers };
  } finally {
    control.close();
  }
}

/** A probe's answer in the builders' shape: what the node is, or why it cannot be used (never a throw). */
export type BuildKitNodeStatus =
  | { ok: true; info: BuildKitNodeInfo }
  | { ok: false; error: string; hint?: string };

/** inspectBuildKitNode for `ls` and `inspect --bootstrap`: a node that is down is a status, not an error. */
export async function probeBuildKitNode(
  endpoint: BuildKitEndpoint,
  options: { timeoutMs?: number } = {},
): Promise<BuildKitNodeStatus> {
  try {
    return { ok: true, info: await inspectBuildKitNode(endpoint, options) };
  } catch (e) {
    if (e instanceof UserError) return { ok: false, error: e.message, ...(e.hint ? { hint: e.hint } : {}) };
    throw e;
  }
}
