// Computes what the corpus tests compare against each fixture's expected.json: the targets, the outline,
// the check findings and the shape of the build graph for linux/amd64 + linux/arm64 (built on amd64).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadIgnoreRules } from "../../../../src/dockerfile/context/ignore-rules.ts";
import { normalizeContextName } from "../../../../src/dockerfile/context/named-contexts.ts";
import { checkDockerfile } from "../../../../src/dockerfile/lint/check.ts";
import { outlineDockerfile } from "../../../../src/dockerfile/outline/outline.ts";
import { listTargets } from "../../../../src/dockerfile/outline/targets.ts";
import { parseDockerfile } from "../../../../src/dockerfile/parse/index.ts";
import { type PlanNamedContext, planBuild } from "../../../../src/dockerfile/plan/index.ts";
import { isUserError } from "../../../../src/errors/user-error.ts";
import { reachableVertices } from "../../../../src/graph/index.ts";
import { formatPlatform, type Platform } from "../../../../src/oci/platform.ts";

export const corpusRoot = resolve(import.meta.dirname, "../../../fixtures/dockerfiles");
export const corpusPlatforms: Platform[] = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64" },
];
export const corpusBuildPlatform: Platform = { os: "linux", architecture: "amd64" };

/** Per-fixture build options (options.json): what a user would pass on the command line. */
export interface FixtureOptions {
  buildArgs?: Record<string, string>;
  target?: string;
  /** `NAME=DIR` (DIR relative to the fixture) or `NAME=docker-image://REF`. */
  buildContexts?: string[];
}

export function fixtureNames(): string[] {
  return readdirSync(corpusRoot, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(corpusRoot, d.name, "Dockerfile")))
    .map((d) => d.name)
    .sort();
}

export function fixtureOptions(name: string): FixtureOptions {
  const file = join(corpusRoot, name, "options.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as FixtureOptions) : {};
}

export async function summarize(name: string): Promise<unknown> {
  const dir = join(corpusRoot, name);
  const options = fixtureOptions(name);
  const ast = parseDockerfile(readFileSync(join(dir, "Dockerfile"), "utf8"), { file: "Dockerfile" });
  const common = {
    buildArgs: options.buildArgs ?? {},
    platform: corpusPlatforms[0]!,
    buildPlatform: corpusBuildPlatform,
    ...(options.target === undefined ? {} : { target: options.target }),
  };

  const targets = listTargets(ast).map((t) => ({
    name: t.name ?? null,
    default: t.default,
    description: t.description,
  }));
  const o = outlineDockerfile(ast, common);
  const outline = {
    target: o.name ?? null,
    args: o.args.map((a) => ({ name: a.name, value: a.value, description: a.description })),
    secrets: o.secrets.map((s) => ({ name: s.name, required: s.required })),
    ssh: o.ssh.map((s) => ({ name: s.name, required: s.required })),
  };
  const namedContexts: PlanNamedContext[] = (options.buildContexts ?? []).map((spec) => {
    const eq = spec.indexOf("=");
    const contextName = normalizeContextName(spec.slice(0, eq));
    const value = spec.slice(eq + 1);
    return value.startsWith("docker-image://")
      ? { name: contextName, kind: "image", ref: value.slice("docker-image://".length) }
      : { name: contextName, kind: "local" };
  });
  const report = await checkDockerfile(ast, { ...common, namedContexts });
  const check: Record<string, unknown> = {
    findings: report.findings.map((f) => ({ rule: f.rule, line: f.range.start.line })),
  };
  if (report.buildError) check.error = report.buildError.message;
  if (report.violation) check.violation = report.violation;

  let graph: unknown;
  try {
    const plan = await planBuild(ast, {
      platforms: corpusPlatforms,
      buildPlatform: corpusBuildPlatform,
      buildArgs: common.buildArgs,
      namedContexts,
      contextExcludePatterns: (await loadIgnoreRules(dir, join(dir, "Dockerfile"))).patterns,
      ...(options.target === undefined ? {} : { target: options.target }),
    });
    const perPlatform = plan.platforms.map((p) => reachableVertices(plan.graph, [p.output]));
    const all = new Set(perPlatform.flatMap((s) => [...s]));
    const shared = [...all].filter((d) => perPlatform.every((s) => s.has(d)));
    const stageName = (i: number) => plan.stages[i]!.displayName;
    const [first, ...rest] = plan.platforms;
    graph = {
      stagesBuilt: first!.stagesUsed.map(stageName),
      sharedStages: first!.stagesUsed
        .filter((i) => rest.every((p) => p.stageOutputs[i] === first!.stageOutputs[i]))
        .map(stageName),
      vertices: all.size,
      verticesPerPlatform: Object.fromEntries(
        plan.platforms.map((p, i) => [formatPlatform(p.platform), perPlatform[i]!.size]),
      ),
      sharedVertices: shared.length,
    };
  } catch (e) {
    if (!isUserError(e)) throw e;
    const loc = e.location;
    graph = { error: loc ? `${loc.line}:${loc.column}: ${e.message}` : e.message };
  }
  return { targets, outline, check, graph };
}
