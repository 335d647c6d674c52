/**
 * The build's attestations, made once the solve is done: per platform the SLSA provenance (from the
 * planned graph and the frontend's options) and the SPDX SBOM (scanned on the host from the platform's
 * result tree, never by running anything in the image).
 */
import { randomBytes } from "node:crypto";
import type { ProvenanceMode } from "../../attest/attest-options.ts";
import {
  type Attestation,
  type AttestationRequest,
  provenancePredicate,
  slsaProvenanceV1,
  spdxDocument,
  spdxSbom,
} from "../../attest/index.ts";
import { type MetadataProvenanceMode, metadataProvenance } from "../../attest/metadata-provenance.ts";
import type { DockerfileAst } from "../../dockerfile/ast.ts";
import type { BuildGraph } from "../../graph/types.ts";
import type { Digest } from "../../oci/digest.ts";
import { formatPlatform, hostPlatform, type Platform } from "../../oci/platform.ts";
import type { ResultRef } from "../../solver/types.ts";

/** What the provenance is made of. */
export interface ProvenanceContext {
  graph: BuildGraph;
  platforms: readonly { platform: Platform; output: Digest }[];
  buildArgs: Readonly<Record<string, string>>;
  target: string | undefined;
  labels: Readonly<Record<string, string>>;
  dockerfile: { name: string; text: string };
  /** A remote main context (git or tarball URL), as given. */
  remoteContext: string | undefined;
  startedAt: Date;
  sourceDateEpoch: number | undefined;
}

export interface AttestationContext extends ProvenanceContext {
  request: AttestationRequest;
  refs: readonly ResultRef[];
  /** The build context's directory, when the SBOM scans it too (`sbom-context`). */
  contextScan?: string;
  imageName: string | undefined;
  tool: string;
}

const proxyArg = /^(http|https|ftp|no|all)_proxy$/i;

/** Seconds-precision ISO time, as SPDX and SLSA write it. */
function isoSeconds(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

function provenanceOf(
  ctx: ProvenanceContext,
  p: { platform: Platform; output: Digest },
  mode: ProvenanceMode,
  times: { startedOn: string; finishedOn: string } | undefined,
  invocationId: string,
): Record<string, unknown> {
  const args: Record<string, string> = {};
  // Proxy args do not shape the result (they are kept out of cache keys too) and often carry passwords.
  for (const [k, v] of Object.entries(ctx.buildArgs)) if (!proxyArg.test(k)) args[`build-arg:${k}`] = v;
  for (const [k, v] of Object.entries(ctx.labels)) args[`label:${k}`] = v;
  if (ctx.target) args.target = ctx.target;
  return provenancePredicate({
    mode,
    platform: p.platform,
    builderPlatform: hostPlatform(),
    graph: ctx.graph,
    root: p.output,
    args,
    locals: ctx.remoteContext ? [] : ["context", "dockerfile"],
    ...(ctx.remoteContext ? { configSource: { uri: ctx.remoteContext, path: ctx.dockerfile.name } } : {}),
    ...(mode === "max" ? { dockerfile: ctx.dockerfile, invocationId } : {}),
    ...(times ? { times } : {}),
  });
}

/**
 * `buildx.build.provenance` (one platform) or `buildx.build.provenance/OS/ARCH` (each of several): the
 * provenance of the build's history record, made in max mode with the real times whatever --provenance
 * asked for, in the v0.2 shape buildx writes (attest/metadata-provenance.ts).
 */
export function makeMetadataProvenance(
  ctx: ProvenanceContext,
  mode: MetadataProvenanceMode,
  perPlatform: boolean,
): Record<string, unknown> {
  const invocationId = randomBytes(13).toString("hex").slice(0, 25);
  const times = { startedOn: ctx.startedAt.toISOString(), finishedOn: new Date().toISOString() };
  const out: Record<string, unknown> = {};
  for (const p of ctx.platforms) {
    const v1 = provenanceOf(ctx, p, "max", times, invocationId);
    const key = perPlatform
      ? `buildx.build.provenance/${formatPlatform(p.platform)}`
      : "buildx.build.provenance";
    out[key] = metadataProvenance(v1, mode, ctx.remoteContext ? undefined : ctx.dockerfile.name);
  }
  return out;
}

export async function makeAttestations(ctx: AttestationContext): Promise<Attestation[][]> {
  const { request } = ctx;
  const epochTime =
    ctx.sourceDateEpoch === undefined ? undefined : isoSeconds(new Date(ctx.sourceDateEpoch * 1000));
  const out: Attestation[][] = [];
  const invocationId = randomBytes(13).toString("hex").slice(0, 25);
  for (const [i, p] of ctx.platforms.entries()) {
    const list: Attestation[] = [];
    if (request.provenance) {
      const mode = request.provenance.mode;
      // Min mode holds nothing that changes between identical builds; max mode records when it ran.
      const times =
        mode === "max"
          ? { startedOn: ctx.startedAt.toISOString(), finishedOn: new Date().toISOString() }
          : epochTime !== undefined
            ? { startedOn: epochTime, finishedOn: epochTime }
            : undefined;
      list.push({
        kind: "provenance",
        predicateType: slsaProvenanceV1,
        predicate: provenanceOf(ctx, p, mode, times, invocationId),
      });
    }
    if (request.sbom) {
      const view = await ctx.refs[i]!.tree();
      try {
        list.push({
          kind: "sbom",
          predicateType: spdxDocument,
          predicate: spdxSbom({
            root: view.root,
            platform: p.platform,
            name: ctx.imageName ?? formatPlatform(p.platform),
            created: epochTime ?? isoSeconds(ctx.startedAt),
            tool: ctx.tool,
          }),
        });
      } finally {
        await view.release();
      }
      if (ctx.contextScan !== undefined) {
        list.push({
          kind: "sbom",
          scan: "sbom-context",
          predicateType: spdxDocument,
          predicate: spdxSbom({
            root: ctx.contextScan,
            platform: p.platform,
            name: "context",
            created: epochTime ?? isoSeconds(ctx.startedAt),
            tool: ctx.tool,
          }),
        });
      }
    }
    out.push(list);
  }
  return out;
}

const scanContextArg = "BUILDKIT_SBOM_SCAN_CONTEXT";

/**
 * Whether the Dockerfile asks for the build context to be scanned, as BuildKit reads it: an
 * `ARG BUILDKIT_SBOM_SCAN_CONTEXT` declared globally or in the target stage (a build arg overrides only a
 * declared one), `true`, or a list of stage names that holds the target's.
 */
export function dockerfileScansContext(
  ast: DockerfileAst,
  target: { index: number; name: string | undefined },
  buildArgs: Readonly<Record<string, string>>,
): boolean {
  let stage = -1;
  let value: string | undefined;
  let declared = false;
  for (const instr of ast.instructions) {
    if (instr.keyword === "FROM") stage++;
    if (instr.keyword !== "ARG" || (stage !== -1 && stage !== target.index)) continue;
    for (const d of instr.declarations) {
      if (d.name !== scanContextArg) continue;
      declared = true;
      if (d.defaultValue !== undefined) value = d.defaultValue.replace(/^(["'])(.*)\1$/, "$2");
    }
  }
  if (!declared) return false;
  const v = (buildArgs[scanContextArg] ?? value ?? "").trim();
  if (/^true$/i.test(v)) return true;
  if (v === "" || /^false$/i.test(v)) return false;
  return (
    target.name !== undefined &&
    v
      .split(",")
      .map((x) => x.trim().toLowerCase())
      .includes(target.name)
  );
}
