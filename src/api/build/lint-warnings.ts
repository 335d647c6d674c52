import type { DockerfileAst } from "../../dockerfile/ast.ts";
import { type LintOptions, lintDockerfile } from "../../dockerfile/lint/lint.ts";
import { UserError } from "../../errors/user-error.ts";
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
