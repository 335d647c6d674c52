/**
 * `--call check` findings that depend on what the build command gives, not on the Dockerfile alone: a RUN
 * whose ssh mount has no `--ssh` forward, whose secret no `--secret` provides, or that asks for
 * `--network=host` / `--security=insecure` without the `--allow` entitlement. BuildKit's check passes these
 * and the build then fails (or the step silently gets no agent); polyarch says so before anything runs.
 * Read from the planned graph, so only steps the target really runs are reported, once each.
 */

import type { BuildGraph } from "../../graph/types.ts";
import type { SourceRange } from "../ast.ts";

/** What the build command provides. */
export interface ProvidedInputs {
  secrets: ReadonlySet<string>;
  ssh: ReadonlySet<string>;
  allow: ReadonlySet<string>;
}

export type BuildInputRule = "SshNotForwarded" | "SecretNotProvided" | "EntitlementNotGranted";

export interface BuildInputFinding {
  rule: BuildInputRule;
  detail: string;
  range: SourceRange;
}

export function checkBuildInputs(graph: BuildGraph, provided: ProvidedInputs): BuildInputFinding[] {
  const found = new Map<string, BuildInputFinding>();
  const add = (rule: BuildInputRule, detail: string, loc: { line: number; column: number }): void => {
    const pos = { line: loc.line, column: loc.column };
    // Each platform plans its own copy of a step: one finding per instruction and problem.
    found.set(`${rule}\0${detail}\0${loc.line}`, { rule, detail, range: { start: pos, end: pos } });
  };
  for (const v of Object.values(graph.vertices)) {
    if (v.op.kind !== "exec" || !v.meta?.location) continue;
    const loc = v.meta.location;
    for (const m of v.op.mounts) {
      if (m.type === "ssh" && !provided.ssh.has(m.id))
        add(
          "SshNotForwarded",
          `RUN --mount=type=ssh${m.id === "default" ? "" : `,id=${m.id}`} has no agent: add --ssh ${m.id}${m.required ? " (the mount is required: the build fails)" : " (the step runs without one)"}`,
          loc,
        );
      if (m.type === "secret" && !provided.secrets.has(m.id))
        add(
          "SecretNotProvided",
          `RUN --mount=type=secret,id=${m.id} is not provided: add --secret id=${m.id},src=FILE${m.required ? " (the mount is required: the build fails)" : " (the step runs without it)"}`,
          loc,
        );
    }
    if (v.op.network === "host" && !provided.allow.has("network.host"))
      add("EntitlementNotGranted", "RUN --network=host needs --allow network.host (the build fails)", loc);
    if (v.op.security === "insecure" && !provided.allow.has("security.insecure"))
      add(
        "EntitlementNotGranted",
        "RUN --security=insecure needs --allow security.insecure (the build fails)",
        loc,
      );
  }
  return [...found.values()];
}
