import type { DockerfileAst } from "../../dockerfile/ast.ts";
import { parseCheckOptions } from "../../dockerfile/lint/check-options.ts";
import { type LintOptions, lintDockerfile } from "../../dockerfile/lint/lint.ts";
import { rules } from "../../dockerfile/lint/rules.ts";
import type { PlatformPlan } from "../../dockerfile/plan/types.ts";
import { UserError } from "../../errors/user-error.ts";
import { formatPlatform } from "../../oci/platform.ts";
import type { WarningEvent } from "../../progress/events.ts";

/**
 * A normal build runs the build checks as BuildKit's frontend does while it converts the Dockerfile: each
 * finding becomes a warning of the build (shown after it, in rawjson's `warnings`, in --metadata-file), in
 * BuildKit's words (`RuleName: what`, the rule's description as detail). With `# check=error=true` a
 * finding fails the build before anything runs, with BuildKit's message.
 *
 * A Dockerfile the checks cannot read to the end is left to the planner, whose error says more.
 */
export function lintForBuild(
  ast: DockerfileAst,
  options: LintOptions,
  emit: (warning: WarningEvent) => void,
): void {
  const report = lintDockerfile(ast, options);
  for (const f of report.findings) {
    emit({
      type: "warning",
      message: `${f.rule}: ${f.detail}`,
      detail: f.description,
      url: f.url,
      location: { file: report.file, line: f.range.start.line },
      at: Date.now(),
    });
  }
  if (report.violation !== undefined) {
    throw new UserError(report.violation, {
      hint: "fix the findings (polyarch build --call check lists them), or drop error=true from the # check= line",
    });
  }
}

/**
 * InvalidBaseImagePlatform, which needs the resolved base images and so comes from the plan: a FROM whose
 * image had no entry for the stage's platform and was taken for one the CPU also runs (linux/386 for an
 * amd64 build, as BuildKit's platform matcher allows), reported once per FROM line and platform pair.
 */
export function warnPlatformMismatches(
  ast: DockerfileAst,
  buildArgs: Readonly<Record<string, string>>,
  platforms: readonly PlatformPlan[],
  emit: (warning: WarningEvent) => void,
): void {
  const override = buildArgs.BUILDKIT_DOCKERFILE_CHECK;
  const options =
    override !== undefined
      ? parseCheckOptions(override, "--build-arg BUILDKIT_DOCKERFILE_CHECK")
      : parseCheckOptions(ast.check);
  const rule = rules.InvalidBaseImagePlatform;
  if (options.skipAll || options.skip.has(rule.name)) return;
  const seen = new Set<string>();
  const violations: string[] = [];
  for (const p of platforms) {
    for (const m of p.platformMismatches ?? []) {
      const detail = `Base image ${m.image} was pulled with platform "${formatPlatform(m.actual)}", expected "${formatPlatform(m.expected)}" for current build`;
      const key = `${m.range.start.line}|${detail}`;
      if (seen.has(key)) continue;
      seen.add(key);
      violations.push(detail);
      emit({
        type: "warning",
        message: `${rule.name}: ${detail}`,
        detail: rule.description,
        url: rule.url,
        location: { file: ast.file, line: m.range.start.line },
        at: Date.now(),
      });
    }
  }
  if (options.error && violations.length > 0) {
    throw new UserError(`lint violation found for rules: ${rule.name}`, {
      hint: "fix the findings, or drop error=true from the # check= line",
    });
  }
}
