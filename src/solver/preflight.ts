/**
 * Phase 3 of a build: every RUN that must run can run here — an emulator for a foreign platform, the
 * secrets and ssh agents it requires, nothing unsupported — or the build fails before any step starts. Steps that do not
 * execute (COPY, ENV…) never need an emulator, and cached RUN steps need neither emulator nor secret.
 */
import { UserError } from "../errors/user-error.ts";
import type { BuildGraph, ExecOp, Vertex } from "../graph/types.ts";
import type { Digest } from "../oci/digest.ts";
import { formatPlatform } from "../oci/platform.ts";
import { missingSecret, missingSshAgent } from "./exec-mounts.ts";
import type { SecretProvider, SshAgentProvider } from "./types.ts";
import { metaLocation, withLocation } from "./vertex-info.ts";

/** Returns, per platform (`linux/arm64`) of the RUN steps to run, whether it runs under emulation. */
export async function preflight(
  graph: BuildGraph,
  runSet: ReadonlySet<Digest>,
  secrets: SecretProvider | undefined,
  binfmtDir: string | undefined,
  allowed: ReadonlySet<string> = new Set(),
  sshAgents?: SshAgentProvider,
): Promise<Map<string, boolean>> {
  const execs = [...runSet]
    .map((d) => graph.vertices[d]!)
    .filter((v): v is Vertex & { op: ExecOp } => v.op.kind === "exec");
  const emulated = new Map<string, boolean>();
  if (execs.length === 0) return emulated;
  const { EmulationDetector } = await import("../worker/emulation/runnable.ts");
  const detector = new EmulationDetector(binfmtDir === undefined ? {} : { binfmtDir });
  const given = new Map<string, Promise<boolean>>();
  for (const v of execs) {
    const where = metaLocation(v.meta);
    const platform = formatPlatform(v.op.platform);
    if (!emulated.has(platform)) {
      try {
        emulated.set(platform, !(await detector.assertCanRun(v.op.platform)).native);
      } catch (e) {
        throw withLocation(e, where);
      }
    }
    if (v.op.security === "insecure" && !allowed.has("security.insecure")) {
      // As BuildKit: a Dockerfile alone can never give itself every capability on the build machine.
      const e = new UserError(
        "RUN --security=insecure needs the security.insecure entitlement, which this build does not grant",
        {
          hint: "run polyarch build with --allow security.insecure if you trust this Dockerfile with full privileges on this machine",
        },
      );
      throw withLocation(e, where);
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
