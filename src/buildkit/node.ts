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
export async function inspectBuildKitNode(endpoint: BuildKitEndpoint): Promise<BuildKitNodeInfo> {
  const control = new ControlClient(endpoint);
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
