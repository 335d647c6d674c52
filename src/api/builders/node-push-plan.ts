/**
 * Whether a farm build's remote nodes push their layers straight to the target registries: only when
 * every output is a push that sends the layers as built (no compression change, no timestamp rewrite —
 * those read every layer here anyway). The client then holds each such layer as a deferred blob that
 * names its registry as its source, so its own push HEADs it there and never downloads it.
 */
import { distributionSourceLabelPrefix } from "../../content/types.ts";
import { UserError } from "../../errors/user-error.ts";
import type { OutputSpec } from "../../exporter/output-spec.ts";
import type { Descriptor } from "../../oci/descriptor.ts";
import { parseReference, referenceName } from "../../registry/reference.ts";
import type { DeferredBlobs } from "../../solver/types.ts";
import type { NodeSolveRequest } from "./node-solve.ts";

export interface NodePushPlan {
  push: NonNullable<NodeSolveRequest["push"]>;
  /** The registries of outputs marked `registry.insecure=true` (the node may reach them the same way). */
  insecureRegistries: string[];
}

export function nodePushPlan(
  outputs: readonly OutputSpec[],
  deferred: DeferredBlobs | undefined,
): NodePushPlan | undefined {
  if (!deferred || outputs.length === 0) return undefined;
  const repositories = new Set<string>();
  const insecure = new Set<string>();
  const labels: Record<string, string> = {};
  for (const o of outputs) {
    if (o.type !== "image" || !o.push || o.image.names.length === 0) return undefined;
    if (o.image.compression !== undefined || o.image.rewriteTimestamp) return undefined;
    for (const name of o.image.names) {
      const ref = parseReference(name);
      repositories.add(referenceName(ref));
      labels[`${distributionSourceLabelPrefix}${ref.registry}`] ??= ref.repository;
      if (o.insecure) insecure.add(ref.registry);
    }
  }
  return {
    insecureRegistries: [...insecure],
    push: {
      repositories: [...repositories],
      remoteBlob(descriptor: Descriptor, node: string) {
        deferred.defer(descriptor, {
          where: `node ${node}`,
          records: new Map(),
          chains: new Map(),
          labels,
          // Nothing of a push reads a layer's bytes here; should something, it says where they are.
          open: () =>
            Promise.reject(
              new UserError(
                `layer ${descriptor.digest} was pushed by node ${node} to ${[...repositories].join(", ")}, not fetched here`,
                { hint: "push again; if it persists, check that node's registry access" },
              ),
            ),
        });
      },
    },
  };
}
