/**
 * A RUN step: its mounts prepared (views of other inputs, cache directories, secrets), then run by the
 * worker over input 0's chain; the step's changes become one new snapshot on top. On failure or abort the
 * worker keeps nothing, so nothing half-done is ever recorded.
 */
import type { ExecOp, VertexMeta } from "../graph/types.ts";
import { ExecFailedError, type ExecRequest, ExecTimeoutError } from "../worker/worker.ts";
import { prepareMounts, sshAuthSockEnv } from "./exec-mounts.ts";
import { LogMask } from "./log-mask.ts";
import type { RunEnv } from "./run-env.ts";
import { metaLocation } from "./vertex-info.ts";

/** BuildKit adds the proxy build args to RUN steps unless the step sets them itself. */
function withProxyEnv(env: readonly string[], proxy: Readonly<Record<string, string>>): string[] {
  const out = [...env];
  const set = new Set(env.map((kv) => kv.slice(0, kv.indexOf("=") < 0 ? kv.length : kv.indexOf("="))));
  for (const [k, v] of Object.entries(proxy)) if (!set.has(k)) out.push(`${k}=${v}`);
  return out;
}

/** Runs the step and returns its chain: input 0's chain plus the new snapshot. */
export async function runExec(
  env: RunEnv,
  id: string,
  op: ExecOp,
  meta: VertexMeta | undefined,
  inputChains: readonly (readonly string[])[],
): Promise<string[]> {
  const base = inputChains[0] ?? [];
  const prepared = await prepareMounts(env, op.mounts, inputChains, {
    id,
    name: meta?.name ?? "RUN",
    platform: op.platform,
  });
  try {
    const location = metaLocation(meta);
    const request: ExecRequest = {
      args: op.args,
      env: [...withProxyEnv(op.env, env.proxyEnv), ...sshAuthSockEnv(op.env, op.mounts), ...prepared.env],
      cwd: op.cwd,
      user: op.user,
      network: op.network === "none" ? "none" : "host",
      security: op.security,
      platform: op.platform,
      mounts: prepared.mounts,
      ...(op.extraHosts ? { extraHosts: op.extraHosts } : {}),
      ...(op.ulimits ? { ulimits: op.ulimits } : {}),
      ...(op.shmSizeBytes !== undefined ? { shmSizeBytes: op.shmSizeBytes } : {}),
      ...(location ? { location } : {}),
    };
    const mask = new LogMask(prepared.secretValues);
    const log = (stream: "stdout" | "stderr", chunk: Buffer) => {
      const shown = mask.active ? mask.push(stream, chunk) : chunk;
      if (shown.length > 0) env.progress.log(id, stream, shown);
    };
    let name: string;
    try {
      name = await env.worker.exec({
        base,
        request,
        signal: env.signal,
        onOutput: log,
        ...(env.execTimeoutMs === undefined ? {} : { timeoutMs: env.execTimeoutMs }),
      });
    } catch (e) {
      throw mask.active ? maskedError(e, mask) : e;
    } finally {
      for (const stream of ["stdout", "stderr"] as const) {
        const rest = mask.active ? mask.flush(stream) : Buffer.alloc(0);
        if (rest.length > 0) env.progress.log(id, stream, rest);
      }
    }
    return [...base, name];
  } finally {
    await prepared.cleanup();
  }
}

/** A failure quotes the step's last lines of output: with the secrets masked, like the log. */
function maskedError(e: unknown, mask: LogMask): unknown {
  if (e instanceof ExecFailedError) {
    return new ExecFailedError(
      e.command,
      e.exitCode,
      e.outputTail.map((l) => mask.text(l)),
      e.location,
    );
  }
  if (e instanceof ExecTimeoutError && e.hint !== undefined) {
    Object.defineProperty(e, "hint", { value: mask.text(e.hint), enumerable: true, configurable: true });
  }
  return e;
}
