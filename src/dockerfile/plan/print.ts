import { formatGraph } from "../../graph/print.ts";
import { topologicalOrder } from "../../graph/walk.ts";
import { formatPlatform } from "../../oci/platform.ts";
import type { BuildPlan } from "./types.ts";

/**
 * The text `polyarch build --print-graph` shows: every vertex the outputs need (inputs first), one output per
 * platform, and how much work the platforms share.
 */
export function formatPlan(plan: BuildPlan): string {
  const outputs = plan.platforms.map((p) => ({ label: formatPlatform(p.platform), digest: p.output }));
  const perPlatform = plan.platforms.map((p) => topologicalOrder(plan.graph, [p.output]));
  const total = new Set(perPlatform.flat()).size;
  const separate = perPlatform.reduce((n, vs) => n + vs.length, 0);
  const target = plan.stages[plan.target]!;
  const lines = [
    formatGraph(plan.graph, outputs).trimEnd(),
    `target: ${target.displayName} (stages used: ${plan.platforms
      .map(
        (p) =>
          `${formatPlatform(p.platform)}=${p.stagesUsed.map((i) => plan.stages[i]!.displayName).join(",")}`,
      )
      .join(" ")})`,
  ];
  if (plan.platforms.length > 1) {
    lines.push(
      `${total} unique vertices for ${plan.platforms.length} platforms (${separate} if built separately)`,
    );
  }
  return `${lines.join("\n")}\n`;
}
