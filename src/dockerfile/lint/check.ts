import { isUserError } from "../../errors/user-error.ts";
import type { DockerfileAst } from "../ast.ts";
import { planBuild } from "../plan/index.ts";
import type { PlanNamedContext } from "../plan/types.ts";
import { type LintOptions, type LintReport, lintDockerfile } from "./lint.ts";

export interface CheckDockerfileOptions extends LintOptions {
  namedContexts?: readonly PlanNamedContext[];
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
    await planBuild(ast, {
      ...(options.platform ? { platforms: [options.platform] } : {}),
      ...(options.buildPlatform ? { buildPlatform: options.buildPlatform } : {}),
      ...(options.target ? { target: options.target } : {}),
      ...(options.buildArgs ? { buildArgs: options.buildArgs } : {}),
      ...(options.namedContexts ? { namedContexts: options.namedContexts } : {}),
    });
  } catch (e) {
    if (!isUserError(e)) throw e;
    const loc = e.location;
    report.buildError = { message: e.message, pos: loc ? { line: loc.line, column: loc.column } : undefined };
  }
  return report;
}
