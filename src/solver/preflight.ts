/**
 * Phase 3 of a build: every RUN that must run can run here — an emulator for a foreign platform, the
 * secrets and ssh agents it requires, nothing unsupported — or the build fails before any step starts. Steps that do not
 * execute (COPY, ENV…) never need an emulator, and cached RUN steps need neither emulator nor secret.
 */
import { UserError } from "../errors/user-error.ts";
import type { BuildGraph, ExecOp, Vertex } from "../graph/types.ts";
import type { Digest } from "../oci/digest.ts";
import { formatPlatform } from "../oci/platform.ts";
import type { Worker } from "../worker/worker.ts";
import { missingSecret, missingSshAgent } from "./exec-mounts.ts";
import type { SecretProvider, SshAgentProvider } from "./types.ts";
import { metaLocation, withLocation } from "./vertex-info.ts";

/**
 * As BuildKit: a Dockerfile alone can never give itself every capability, or the host's network namespace,
 * on the build machine; the person running the build grants it. Checked for every step of the build, run
 * or cached (BuildKit refuses the definition before it looks at its cache).
 */
function checkEntitlements(graph: BuildGraph, allowed: ReadonlySet<string>): void {
  for (const v of Object.values(graph.vertices)) {
    if (v.op.kind !== "exec") continue;
    const where = metaLocation(v.meta);
    if (v.op.security === "insecure" && !allowed.has("security.insecure")) {
      throw withLocation(
        entitlementRefused(
          "security.insecure",
          "RUN --security=insecure",
          "if you trust this Dockerfile with full privileges on this machine",
        ),
        where,
      );
    }
    if (v.op.network === "host" && !allowed.has("network.host")) {
      throw withLocation(
        entitlementRefused(
          "network.host",
          "RUN --network=host",
          "if this step may use the build machine's network namespace (its services on localhost)",
        ),
        where,
      );
    }
  }
}

// BuildKit's words first (`network.host is not allowed`), which users search for.
function entitlementRefused(entitlement: string, step: string, when: string): UserError {
  return new UserError(
    `${entitlement} is not allowed: ${step} needs the ${entitlement} entitlement, which this build does not grant`,
    { hint: `run polyarch build with --allow ${entitlement} ${when}` },
  );
}

/** Returns, per platform (`linux/arm64`) of the RUN steps to run, whether it runs under emulation. */
export async function preflight(
  graph: BuildGraph,
  runSet: ReadonlySet<Digest>,
  secrets: SecretProvider | undefined,
  worker: Worker,
  allowed: ReadonlySet<string> = new Set(),
  sshAgents?: SshAgentProvider,
): Promise<Map<string, boolean>> {
  checkEntitlements(graph, allowed);
  const execs = [...runSet]
    .map((d) => graph.vertices[d]!)
    .filter((v): v is Vertex & { op: ExecOp } => v.op.kind === "exec");
  const emulated = new Map<string, boolean>();
  if (execs.length === 0) return emulated;
  const given = new Map<string, Promise<boolean>>();
  for (const v of execs) {
    const where = metaLocation(v.meta);
    const platform = formatPlatform(v.op.platform);
    if (!emulated.has(platform)) {
      try {
        emulated.set(platform, (await worker.checkPlatform(v.op.platform)).emulated);
      } catch (e) {
        throw withLocation(e, where);
      }
    }
    for (const m of v.op.mounts) {
      if (m.type === "ssh" && m.required && !sshAgents?.has(m.id))
        throw withLocation(missingSshAgent(m.id), where);
      if (m.type === "secret" && m.required) {
        let has = given.get(m.id);
        if (!has) {
          has = (secrets?.(m.id) ?? Promise.resolve(undefined)).then((s) => s !== undefined);
          given.set(m.id, has);
        }
        if (!(await has)) throw withLocation(missingSecret(m.id), where);
      }
    }
  }
  return emulated;
}
