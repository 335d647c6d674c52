import type { Digest } from "../oci/digest.ts";
import { formatPlatform } from "../oci/platform.ts";
import type { BuildGraph, ExecMount, FileAction, Op, Source } from "./types.ts";
import { topologicalOrder } from "./walk.ts";

export interface GraphOutput {
  label: string;
  digest: Digest;
}

/** The first 12 hex digits of a digest, as `docker` shows image IDs. */
export function shortDigest(d: string): string {
  return d.slice(d.indexOf(":") + 1, d.indexOf(":") + 13);
}

/**
 * A human-readable listing of the vertices the outputs need (all vertices without outputs), inputs first:
 * one block per vertex with its short digest, op and inputs, then the outputs. For `build --print-graph`.
 */
export function formatGraph(graph: BuildGraph, outputs: readonly GraphOutput[] = []): string {
  const roots = outputs.length > 0 ? outputs.map((o) => o.digest) : undefined;
  const order = topologicalOrder(graph, roots);
  const lines: string[] = [];
  for (const d of order) {
    const v = graph.vertices[d]!;
    const from = v.inputs.length > 0 ? `  <- ${v.inputs.map(shortDigest).join(", ")}` : "";
    lines.push(`${shortDigest(d)}  ${describeOp(v.op)}${from}`);
    if (v.meta?.name) lines.push(`    name: ${v.meta.name}`);
    for (const detail of opDetails(v.op)) lines.push(`    ${detail}`);
  }
  if (outputs.length > 0) {
    lines.push("");
    for (const o of outputs) lines.push(`output ${o.label}: ${shortDigest(o.digest)}`);
  }
  lines.push(`${order.length} vertices`);
  return `${lines.join("\n")}\n`;
}

function describeOp(op: Op): string {
  switch (op.kind) {
    case "source":
      return `source ${describeSource(op.source)}`;
    case "exec":
      return `exec ${JSON.stringify(op.args)} (${formatPlatform(op.platform)})`;
    case "file":
      return `file ${op.actions.map((a) => a.action).join(", ")}`;
    case "merge":
      return "merge";
    case "diff":
      return "diff";
  }
}

function describeSource(s: Source): string {
  switch (s.type) {
    case "image":
      return `image ${s.ref}${s.digest ? `@${s.digest}` : ""} (${formatPlatform(s.platform)})`;
    case "local": {
      const parts = [`local ${s.name}`];
      if (s.followPaths?.length) parts.push(`paths=${s.followPaths.join(",")}`);
      if (s.excludePatterns?.length) parts.push(`exclude=${s.excludePatterns.join(",")}`);
      if (s.includePatterns?.length) parts.push(`include=${s.includePatterns.join(",")}`);
      return parts.join(" ");
    }
    case "scratch":
      return "scratch";
    case "http":
      return `http ${s.url}${s.checksum ? ` checksum=${s.checksum}` : ""}`;
    case "git":
      return `git ${s.remote}${s.ref ? `#${s.ref}` : ""}`;
  }
}

function opDetails(op: Op): string[] {
  if (op.kind === "exec") {
    const out = [`cwd=${op.cwd} user=${op.user || "root"} network=${op.network} security=${op.security}`];
    if (op.env.length > 0) out.push(`env: ${op.env.join(" ")}`);
    for (const m of op.mounts) out.push(`mount ${describeMount(m)}`);
    return out;
  }
  if (op.kind === "file") return op.actions.map(describeAction);
  return [];
}

function describeMount(m: ExecMount): string {
  switch (m.type) {
    case "bind":
      return `${m.target} bind input=${m.input} source=${m.source}${m.readonly ? " ro" : " rw"}`;
    case "cache":
      return `${m.target} cache id=${m.id} sharing=${m.sharing}${m.acrossPlatforms ? " all-platforms" : ""}${m.readonly ? " ro" : ""}`;
    case "tmpfs":
      return `${m.target} tmpfs${m.size === undefined ? "" : ` size=${m.size}`}`;
    case "secret":
      return `${m.target ?? "(env)"} secret id=${m.id}${m.env ? ` env=${m.env}` : ""}`;
    case "ssh":
      return `${m.target} ssh id=${m.id}`;
  }
}

function describeAction(a: FileAction): string {
  const owner =
    "owner" in a && a.owner ? ` owner=${a.owner.user}${a.owner.group ? `:${a.owner.group}` : ""}` : "";
  switch (a.action) {
    case "copy": {
      const mode =
        a.mode === undefined ? "" : ` mode=${typeof a.mode === "number" ? a.mode.toString(8) : a.mode}`;
      return `copy input=${a.input} ${a.src} -> ${a.dest}${owner}${mode}`;
    }
    case "mkdir":
      return `mkdir ${a.path} mode=${a.mode.toString(8)}${owner}`;
    case "mkfile":
      return `mkfile ${a.path} mode=${a.mode.toString(8)} (${a.data.length} bytes)${owner}`;
    case "rm":
      return `rm ${a.path}`;
  }
}
