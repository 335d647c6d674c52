import type { BuilderRecord } from "../../api/builders/builder-record.ts";
import { BuilderStore } from "../../api/builders/builder-store.ts";
import { changeBuilder } from "../../api/builders/change-builder.ts";
import { localNodeInfo } from "../../api/builders/node-info.ts";
import { type ProbedNode, probeBuilder } from "../../api/builders/node-probe.ts";
import { UserError } from "../../errors/user-error.ts";
import { polyarchVersion } from "../version-info.ts";
import type { CreateFlags } from "./builders.ts";

function platformsText(p: ProbedNode): string {
  return p.platforms.map((x) => `${x.platform}${x.fixed ? "*" : ""}`).join(", ");
}

function statusText(p: ProbedNode): string {
  return p.status.ok ? "running" : "error";
}

/** Fails with every node's reason when a node cannot build (what `--bootstrap` asks). */
function requireReady(builder: BuilderRecord, probed: readonly ProbedNode[]): void {
  const lines: string[] = [];
  for (const p of probed) {
    if (!p.status.ok)
      lines.push(
        `node ${p.node.name} (${p.node.endpoint}): ${p.status.error}${p.status.hint ? `; ${p.status.hint}` : ""}`,
      );
    for (const q of p.problems) lines.push(`node ${p.node.name}: ${q.what}; fix: ${q.fix}`);
  }
  if (lines.length) {
    throw new UserError(`builder ${builder.name} is not ready: ${lines[0]}`, {
      hint:
        lines.length > 1
          ? lines.slice(1).join("\n")
          : "fix it, then run `polyarch inspect --bootstrap` again",
    });
  }
}

/** `--driver-opt a=1,b=2` (repeatable), as buildx splits it. */
function driverOpts(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of values.flatMap((v) => v.split(","))) {
    const t = item.trim();
    if (!t) continue;
    const eq = t.indexOf("=");
    if (eq <= 0) {
      throw new UserError(`--driver-opt ${JSON.stringify(t)} is not KEY=VALUE`, {
        hint: "e.g. --driver-opt cacert=ca.pem,cert=cert.pem,key=key.pem",
      });
    }
    out[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return out;
}

/** What the node runs: polyarch's version, or the other engine's (a BuildKit daemon). */
function versionText(p: ProbedNode): string {
  if (!p.status.ok) return "";
  return p.status.info.engine ?? p.status.info.polyarch;
}

export async function createAction(endpoint: string | undefined, flags: CreateFlags): Promise<void> {
  const store = new BuilderStore();
  const builder = await changeBuilder(store, {
    ...(flags.name !== undefined ? { name: flags.name } : {}),
    ...(flags.driver !== undefined ? { driver: flags.driver } : {}),
    platforms: flags.platform,
    driverOpts: driverOpts(flags.driverOpt ?? []),
    ...(flags.node !== undefined ? { node: flags.node } : {}),
    ...(flags.append ? { append: true } : {}),
    ...(flags.leave ? { leave: true } : {}),
    ...(endpoint !== undefined ? { endpoint } : {}),
  });
  if (flags.use) await store.setCurrent(builder.name);
  if (flags.bootstrap) requireReady(builder, await probeBuilder(builder, polyarchVersion));
  process.stdout.write(`${builder.name}\n`);
}

export async function lsAction(opts: { format?: string }): Promise<void> {
  const format = opts.format ?? "table";
  if (format !== "table" && format !== "json") {
    throw new UserError(`unknown --format ${JSON.stringify(format)}`, {
      hint: "use --format table or --format json",
    });
  }
  const store = new BuilderStore();
  const [builders, current] = await Promise.all([store.list(), store.currentName()]);
  const probed = await Promise.all(builders.map((b) => probeBuilder(b, polyarchVersion)));
  if (format === "json") {
    const out = builders.map((b, i) => ({
      name: b.name,
      current: b.name === current,
      nodes: probed[i]!.map((p) => ({
        name: p.node.name,
        driver: p.node.driver,
        endpoint: p.node.endpoint,
        status: statusText(p),
        ...(p.status.ok ? { version: versionText(p) } : { error: p.status.error }),
        platforms: p.platforms,
      })),
    }));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const rows: string[][] = [["NAME/NODE", "DRIVER/ENDPOINT", "STATUS", "VERSION", "PLATFORMS"]];
  const errors: string[] = [];
  builders.forEach((b, i) => {
    rows.push([
      `${b.name}${b.name === current ? "*" : ""}`,
      [...new Set(b.nodes.map((n) => n.driver))].join(","),
      "",
      "",
      "",
    ]);
    for (const p of probed[i]!) {
      rows.push([
        ` \\_ ${p.node.name}`,
        ` \\_ ${p.node.endpoint}`,
        statusText(p),
        versionText(p),
        platformsText(p),
      ]);
      if (!p.status.ok)
        errors.push(`Cannot load node ${p.node.name} of builder ${b.name}: ${p.status.error}`);
    }
  });
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)) + 3);
  const text = rows.map((r) =>
    r
      .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join("")
      .trimEnd(),
  );
  process.stdout.write(`${text.join("\n")}\n`);
  if (errors.length) process.stdout.write(`\n${errors.join("\n")}\n`);
}

export async function useAction(name: string): Promise<void> {
  await new BuilderStore().setCurrent(name);
}

export async function inspectAction(name: string | undefined, opts: { bootstrap?: boolean }): Promise<void> {
  const store = new BuilderStore();
  const builder = await store.get(name ?? (await store.currentName()));
  const probed = await probeBuilder(builder, polyarchVersion);
  const lines = [
    `Name:   ${builder.name}`,
    `Driver: ${[...new Set(builder.nodes.map((n) => n.driver))].join(",")}`,
    "",
    "Nodes:",
  ];
  probed.forEach((p, i) => {
    if (i > 0) lines.push("");
    lines.push(
      `Name:      ${p.node.name}`,
      `Endpoint:  ${p.node.endpoint}`,
      `Driver:    ${p.node.driver}`,
      `Status:    ${statusText(p)}`,
    );
    if (p.status.ok) {
      const info = p.status.info;
      if (info.engine !== undefined) lines.push(`Engine:    ${info.engine}`);
      else
        lines.push(
          `polyarch:  ${info.polyarch}`,
          `Node.js:   ${info.node}`,
          `runc:      ${info.runc ?? "not installed"}`,
        );
      lines.push(`Platforms: ${platformsText(p)}`);
      const emulated = p.platforms.filter((x) => x.emulated).map((x) => x.platform);
      if (emulated.length) lines.push(`Emulated:  ${emulated.join(", ")}`);
    } else {
      lines.push(`Error:     ${p.status.error}`);
      if (p.status.hint) lines.push(`Fix:       ${p.status.hint}`);
    }
    for (const q of p.problems) lines.push(`Problem:   ${q.what}`, `Fix:       ${q.fix}`);
  });
  process.stdout.write(`${lines.join("\n")}\n`);
  if (opts.bootstrap) requireReady(builder, probed);
}

export async function rmAction(names: readonly string[]): Promise<void> {
  const store = new BuilderStore();
  for (const n of names) {
    await store.remove(n);
    process.stderr.write(`${n} removed\n`);
  }
}

export async function stopAction(name: string | undefined): Promise<void> {
  const store = new BuilderStore();
  await store.get(name ?? (await store.currentName()));
}

export async function nodeInfoAction(): Promise<void> {
  process.stdout.write(`${JSON.stringify(await localNodeInfo(polyarchVersion))}\n`);
}

export async function nodeServeAction(): Promise<void> {
  const { serveNode } = await import("../../api/builders/node-serve.ts");
  await serveNode(polyarchVersion);
}
