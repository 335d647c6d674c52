import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import type { NamedContext } from "../../dockerfile/context/named-contexts.ts";
import { UserError } from "../../errors/user-error.ts";
import type { Platform } from "../../oci/platform.ts";
import type { ProgressSink, WarningEvent } from "../../progress/events.ts";
import { vertexWarning } from "../../progress/solve-status.ts";
import { parseAnnotationFlags } from "../annotation-flags.ts";
import { parseCacheFrom, parseCacheTo } from "../parse-cache-flags.ts";
import { parseSecrets } from "../parse-secrets.ts";
import { parseSshFlags } from "../parse-ssh.ts";
import { registryOptionsFor } from "../registry-cli-options.ts";
import { parseStepOptions, type StepOptionFlags } from "./build-step-options.ts";

export interface ImageBuildFlags extends StepOptionFlags {
  file?: string;
  target?: string;
  tag?: string[];
  output?: string[];
  push?: boolean;
  load?: boolean;
  iidfile?: string;
  metadataFile?: string;
  annotation?: string[];
  quiet?: boolean;
  /** Commander turns `--no-cache` into `cache: false` and `--no-cache-filter` into `cacheFilter`. */
  cache?: boolean;
  cacheFilter?: string[];
  cacheFrom?: string[];
  cacheTo?: string[];
  pull?: boolean;
  secret?: string[];
  ssh?: string[];
  label?: string[];
  progress: string;
  insecureRegistry?: string[];
  allow?: string[];
  /** `--test CMD`: run in every platform's image; push or export only when it passes on all. */
  test?: string;
  /** `--builder NAME` (else POLYARCH_BUILDER, else the one `polyarch use` chose). */
  builder?: string;
  allowFallback?: boolean;
  provenance?: string;
  sbom?: string;
  attest?: string[];
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
  // --annotation reaches every image-producing output, as buildx passes it to each exporter.
  const annotations = parseAnnotationFlags(flags.annotation ?? [], "manifest");
  for (const o of outputs) if ("image" in o) o.image.annotations = [...annotations, ...o.image.annotations];
  if (outputs.length === 0) {
    // As buildx with a builder that has no image store of its own: say where (not) the result goes.
    process.stderr.write(
      "WARNING: No output specified: the build result will only remain in the build cache.\n" +
        "To keep the image, name it with -t NAME (polyarch's image store), push it with --push, load it into Docker with --load, or write it with -o type=oci,dest=FILE.\n",
    );
  }
  const secrets = parseSecrets(flags.secret ?? []);
  const stepOptions = parseStepOptions(flags);
  const ssh = parseSshFlags(flags.ssh ?? []);
  const cacheLockTimeoutMs = readCacheLockTimeout(process.env.POLYARCH_CACHE_LOCK_TIMEOUT);
  const labels = parseKeyValues(flags.label ?? [], "--label");
  const sourceDateEpoch = readSourceDateEpoch(buildArgs);
  const { selectBuilder } = await import("../select-builder.ts");
  const builder = await selectBuilder(flags.builder);
  const { parseAttestFlags } = await import("../../attest/attest-options.ts");
  const attestations = parseAttestFlags(
    {
      ...(flags.provenance !== undefined ? { provenance: flags.provenance } : {}),
      ...(flags.sbom !== undefined ? { sbom: flags.sbom } : {}),
      attest: flags.attest ?? [],
    },
    process.env,
  );

  // buildx writes the build's provenance to the metadata file whatever --provenance says.
  const metadataProvenance = flags.metadataFile
    ? (await import("../../attest/metadata-provenance.ts")).metadataProvenanceMode(
        process.env.BUILDX_METADATA_PROVENANCE,
      )
    : undefined;

  // Build progress goes to stderr, as buildx does: stdout stays free for `-o type=tar,dest=-`.
  const quiet = Boolean(flags.quiet) || flags.progress === "quiet";
  const display = createProgress(quiet ? "quiet" : (flags.progress as "auto"), process.stderr, {
    expandWarnings: debug,
  });
  // Warnings are kept for --metadata-file's buildx.build.warnings as they pass to the display.
  const warnings: WarningEvent[] = [];
  const progress: ProgressSink = {
    emit(e) {
      if (e.type === "warning") warnings.push(e);
      display.emit(e);
    },
    close: () => display.close(),
  };
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
      cacheFrom: parseCacheFrom(flags.cacheFrom ?? []),
      cacheTo: parseCacheTo(flags.cacheTo ?? []),
      pull: Boolean(flags.pull),
      outputs,
      progress,
      registry: registryOptionsFor(flags, debug),
      ...(sourceDateEpoch === undefined ? {} : { sourceDateEpoch }),
      signal: controller.signal,
      allow: parseEntitlements(flags.allow ?? []),
      stepOptions,
      ...(flags.test === undefined ? {} : { test: flags.test }),
      ...(builder ? { builder } : {}),
      ...(flags.allowFallback ? { allowFallback: true } : {}),
      attestations,
      ...(metadataProvenance ? { metadataProvenance } : {}),
    });
    const imageId = imageIdOf(result.metadata, result.descriptor.digest);
    if (flags.iidfile) await writeFile(flags.iidfile, imageId);
    if (flags.metadataFile) {
      const metadata: Record<string, unknown> = {
        ...result.metadata,
        // builder/node/build id, the form buildx writes; the id is fresh for every build.
        "buildx.build.ref": `polyarch/local/${randomBytes(16).toString("hex").slice(0, 25)}`,
      };
      // buildx writes warnings only when asked to (BUILDX_METADATA_WARNINGS), in BuildKit's VertexWarning form.
      if (warnings.length && /^(1|true)$/i.test(process.env.BUILDX_METADATA_WARNINGS ?? ""))
        metadata["buildx.build.warnings"] = warnings.map(vertexWarning);
      await writeFile(flags.metadataFile, `${JSON.stringify(sortedKeys(metadata), null, 2)}\n`);
    }
    // -q / --progress=quiet: the image id is the one line on stdout, as buildx prints it.
    if (quiet) process.stdout.write(`${imageId}\n`);
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await progress.close();
  }
}

/**
 * The image id buildx prints and writes to --iidfile: the config digest when the result is one image (the
 * id `docker images` shows after a load), otherwise the digest of the index.
 */
function imageIdOf(metadata: Record<string, unknown>, fallback: string): string {
  const config = metadata["containerimage.config.digest"];
  return typeof config === "string" ? config : fallback;
}

function sortedKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const entitlements = ["security.insecure", "network.host"];

/** `--allow a,b` (repeatable), as buildx spells it. */
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
