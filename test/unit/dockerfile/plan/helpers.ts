import { parseDockerfile } from "../../../../src/dockerfile/parse/index.ts";
import { planBuild } from "../../../../src/dockerfile/plan/index.ts";
import type {
  BuildPlan,
  ImageMetadataResolver,
  PlanOptions,
  ResolvedImage,
} from "../../../../src/dockerfile/plan/types.ts";
import type { ExecOp, FileOp, Op, Vertex } from "../../../../src/graph/types.ts";
import { topologicalOrder } from "../../../../src/graph/walk.ts";
import type { Digest } from "../../../../src/oci/digest.ts";
import type { ImageConfig } from "../../../../src/oci/image-config.ts";
import { formatPlatform, type Platform, parsePlatform } from "../../../../src/oci/platform.ts";

export const amd64 = parsePlatform("linux/amd64");
export const arm64 = parsePlatform("linux/arm64");
export const armv7 = parsePlatform("linux/arm/v7");

/** Parses and plans a Dockerfile given as lines (joined with newlines). */
export async function plan(text: string | string[], options: PlanOptions = {}): Promise<BuildPlan> {
  const source = Array.isArray(text) ? `${text.join("\n")}\n` : text;
  return planBuild(parseDockerfile(source), { buildPlatform: amd64, ...options });
}

/** The vertices the platform's output needs, in dependency order. */
export function chain(p: BuildPlan, index = 0): { digest: Digest; vertex: Vertex }[] {
  const out = p.platforms[index]!.output;
  return topologicalOrder(p.graph, [out]).map((digest) => ({ digest, vertex: p.graph.vertices[digest]! }));
}

export function execs(p: BuildPlan, index = 0): ExecOp[] {
  return chain(p, index)
    .map((c) => c.vertex.op)
    .filter((op): op is ExecOp => op.kind === "exec");
}

export function fileOps(p: BuildPlan, index = 0): FileOp[] {
  return chain(p, index)
    .map((c) => c.vertex.op)
    .filter((op): op is FileOp => op.kind === "file");
}

export function ops(p: BuildPlan, index = 0): Op[] {
  return chain(p, index).map((c) => c.vertex.op);
}

/** The `created_by` of each history entry this Dockerfile added (the base image's entries dropped). */
export function history(p: BuildPlan, index = 0, skip = 0): string[] {
  return (p.platforms[index]!.image.history ?? []).slice(skip).map((h) => h.created_by ?? "");
}

/** An env value of an exec. */
export function envOf(op: ExecOp, key: string): string | undefined {
  const entry = op.env.find((e) => e.startsWith(`${key}=`));
  return entry?.slice(key.length + 1);
}

/**
 * A resolver test double: images are defined in the test; each lookup is recorded. Unknown images fail as
 * a registry would (a UserError from the resolver).
 */
export class FakeResolver implements ImageMetadataResolver {
  readonly calls: string[] = [];
  readonly images = new Map<string, (p: Platform) => Partial<ImageConfig>>();

  add(ref: string, config: Partial<ImageConfig> | ((p: Platform) => Partial<ImageConfig>)): this {
    this.images.set(ref, typeof config === "function" ? config : () => config);
    return this;
  }

  async resolveImage(ref: string, platform: Platform): Promise<ResolvedImage> {
    this.calls.push(`${ref} ${formatPlatform(platform)}`);
    const make = this.images.get(ref.replace(/@.*$/, ""));
    if (!make) {
      const { UserError } = await import("../../../../src/errors/user-error.ts");
      throw new UserError(`${ref}: not found`, { hint: "check the name" });
    }
    const partial = make(platform);
    const config: ImageConfig = {
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      rootfs: {
        type: "layers",
        diff_ids: ["sha256:1111111111111111111111111111111111111111111111111111111111111111" as Digest],
      },
      history: [{ created_by: "/bin/sh -c #(nop) ADD file:abc in / " }],
      created: "2024-01-01T00:00:00Z",
      ...partial,
    };
    const digestChar = ref.length % 10;
    return { ref, digest: `sha256:${String(digestChar).repeat(64)}` as Digest, config };
  }
}
