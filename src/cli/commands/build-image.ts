import { writeFile } from "node:fs/promises";
import type { NamedContext } from "../../dockerfile/context/named-contexts.ts";
import { UserError } from "../../errors/user-error.ts";
import type { Platform } from "../../oci/platform.ts";
import { parseSecrets } from "../parse-secrets.ts";
import { parseSshFlags } from "../parse-ssh.ts";
import { registryOptionsFor } from "../registry-cli-options.ts";

export interface ImageBuildFlags {
  file?: string;
  target?: string;
  tag?: string[];
  output?: string[];
  push?: boolean;
  load?: boolean;
  iidfile?: string;
  metadataFile?: string;
  /** Commander turns `--no-cache` into `cache: false` and `--no-cache-filter` into `cacheFilter`. */
  cache?: boolean;
  cacheFilter?: string[];
  pull?: boolean;
  secret?: string[];
  ssh?: string[];
  label?: string[];
  progress: string;
  insecureRegistry?: string[];
  allow?: string[];
}

/**
 * `polyarch build` without --call: plan, solve and export. The engine is imported here, on use, so the
 * Dockerfile-only calls and other commands start without it.
 */
export async function buildImage(
  context: string,
  flags: ImageBuildFlags,
  platforms: Platform[],
  buildArgs: Record<string, string>,
  namedContexts: NamedContext[],
  debug: boolean,
): Promise<number> {
  const [{ build }, { parseOutputs }, { createProgress }] = await Promise.all([
    import("../../api/build.ts"),
    import("../../exporter/parse-outputs.ts"),
    import("../../progress/index.ts"),
  ]);
  const outputs = parseOutputs({
    output: flags.output ?? [],
    tags: flags.tag ?? [],
    push: Boolean(flags.push),
    load: Boolean(flags.load),
  });
  const secrets = parseSecrets(flags.secret ?? []);
  const ssh = parseSshFlags(flags.ssh ?? []);
  const cacheLockTimeoutMs = readCacheLockTimeout(process.env.POLYARCH_CACHE_LOCK_TIMEOUT);
  const labels = parseKeyValues(flags.label ?? [], "--label");
  const sourceDateEpoch = readSourceDateEpoch(buildArgs);

  // Build progress goes to stderr, as buildx does: stdout stays free for `-o type=tar,dest=-`.
  const progress = createProgress(flags.progress as "auto", process.stderr);
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130); // a second Ctrl-C: stop waiting for clean-up
    interrupted = true;
    process.stderr.write("\ninterrupted: stopping running steps and cleaning up (Ctrl-C again to force)\n");
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const result = await build({
      context,
      ...(flags.file === "-" || context === "-"
        ? { dockerfileText: await readStdin() }
        : flags.file !== undefined
          ? { dockerfile: flags.file }
          : {}),
      platforms,
      ...(flags.target === undefined ? {} : { target: flags.target }),
      buildArgs,
      labels,
      namedContexts,
      secrets,
      ssh,
      ...(cacheLockTimeoutMs === undefined ? {} : { cacheLockTimeoutMs }),
      noCache: flags.cache === false,
      noCacheFilter: flags.cacheFilter ?? [],
      pull: Boolean(flags.pull),
      outputs,
      progress,
      registry: registryOptionsFor(flags, debug),
      ...(sourceDateEpoch === undefined ? {} : { sourceDateEpoch }),
      signal: controller.signal,
      allow: parseEntitlements(flags.allow ?? []),
    });
    if (flags.iidfile) await writeFile(flags.iidfile, result.descriptor.digest);
    if (flags.metadataFile)
      await writeFile(flags.metadataFile, `${JSON.stringify(result.metadata, null, 2)}\n`);
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await progress.close();
  }
}

const entitlements = ["security.insecure", "network.host"];

/** `--allow a,b` (repeatable), as buildx spells it; network.host is accepted (RUN uses the host network). */
function parseEntitlements(values: readonly string[]): string[] {
  const out = values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter(Boolean);
  for (const e of out) {
    if (!entitlements.includes(e))
      throw new UserError(`unknown entitlement ${JSON.stringify(e)} in --allow`, {
        hint: `allowed: ${entitlements.join(", ")}`,
      });
  }
  return out;
}

/** SOURCE_DATE_EPOCH from --build-arg, else the environment (buildx passes the env var along the same way). */
function readSourceDateEpoch(buildArgs: Record<string, string>): number | undefined {
  const text = buildArgs.SOURCE_DATE_EPOCH ?? process.env.SOURCE_DATE_EPOCH;
  if (text === undefined || text === "") return undefined;
  if (!/^\d+$/.test(text)) {
    throw new UserError(`SOURCE_DATE_EPOCH must be whole seconds since 1970, not ${JSON.stringify(text)}`, {
      hint: "e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)",
    });
  }
  return Number(text);
}

/** POLYARCH_CACHE_LOCK_TIMEOUT: seconds a `sharing=locked` cache mount waits for another build. */
function readCacheLockTimeout(text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  if (!/^\d+(\.\d+)?$/.test(text)) {
    throw new UserError(
      `POLYARCH_CACHE_LOCK_TIMEOUT must be a number of seconds, not ${JSON.stringify(text)}`,
      {
        hint: "e.g. POLYARCH_CACHE_LOCK_TIMEOUT=600",
      },
    );
  }
  return Number(text) * 1000;
}

function parseKeyValues(values: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq <= 0)
      throw new UserError(`invalid ${flag} ${JSON.stringify(v)}`, { hint: `write ${flag} KEY=VALUE` });
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
