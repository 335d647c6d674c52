import { isUserError } from "../../errors/user-error.ts";
import type { DockerfileAst } from "../ast.ts";
import { planBuild } from "../plan/index.ts";
import type { PlanNamedContext } from "../plan/types.ts";
import { checkBuildInputs, type ProvidedInputs } from "./build-inputs.ts";
import { type LintOptions, type LintReport, lintDockerfile } from "./lint.ts";
import { rules } from "./rules.ts";

export interface CheckDockerfileOptions extends LintOptions {
  namedContexts?: readonly PlanNamedContext[];
  /** What the build command gives (secrets, ssh forwards, entitlements); checked against the steps when set. */
  provided?: ProvidedInputs;
}

/**
 * `--call check`: the build checks, then a dry plan of the build for the first platform so that what would
 * fail the build (an unknown stage in COPY --from, a bad flag, a duplicate stage name…) is reported with
 * the warnings, as BuildKit's lint reports its build error. No registry is asked.
 */
export async function checkDockerfile(
  ast: DockerfileAst,
  options: CheckDockerfileOptions = {},
): Promise<LintReport> {
  const report = lintDockerfile(ast, options);
  if (report.buildError) return report;
  try {
    const plan = await planBuild(ast, {
      ...(options.platform ? { platforms: [options.platform] } : {}),
      ...(options.buildPlatform ? { buildPlatform: options.buildPlatform } : {}),
      ...(options.target ? { target: options.target } : {}),
      ...(options.buildArgs ? { buildArgs: options.buildArgs } : {}),
      ...(options.namedContexts ? { namedContexts: options.namedContexts } : {}),
    });
    if (options.provided) addFindings(report, checkBuildInputs(plan.graph, options.provided));
  } catch (e) {
    if (!isUserError(e)) throw e;
    const loc = e.location;
    report.buildError = { message: e.message, pos: loc ? { line: loc.line, column: loc.column } : undefined };
  }
  return report;
}

/** Adds findings made after the lint (their rules' skip and error options apply as to the lint's own). */
function addFindings(report: LintReport, found: ReturnType<typeof checkBuildInputs>): void {
  const o = report.options;
  const kept = found.filter((f) => !o.skipAll && !o.skip.has(f.rule));
  if (kept.length === 0) return;
  for (const f of kept) {
    const r = rules[f.rule];
    report.findings.push({
      rule: f.rule,
      description: r.description,
      url: r.url,
      detail: f.detail,
      range: f.range,
    });
  }
  report.findings.sort((a, b) => a.range.start.line - b.range.start.line);
  const violated = [...new Set(report.findings.map((f) => f.rule))].sort();
  if (o.error) report.violation = `lint violation found for rules: ${violated.join(", ")}`;
}
