import { createIndex } from "../../api/imagetools/create-index.ts";
import { inspectImage } from "../../api/imagetools/inspect.ts";
import { UserError } from "../../errors/user-error.ts";
import type { Descriptor } from "../../oci/descriptor.ts";
import { formatPlatform, type Platform, parsePlatformList } from "../../oci/platform.ts";
import { formatReference, parseReference } from "../../registry/reference.ts";
import { openContentStore, registryClientsFor } from "../registry-setup.ts";
import type { CreateOptions, InspectOptions } from "./imagetools.ts";

export async function inspectAction(reference: string, opts: InspectOptions, debug: boolean): Promise<void> {
  const format = opts.format ?? "pretty";
  if (format !== "pretty" && format !== "json")
    throw new UserError(`unknown --format ${JSON.stringify(format)}`, {
      hint: "use --format pretty or --format json",
    });
  const clients = registryClientsFor(opts, debug);
  try {
    const result = await inspectImage(clients, reference);
    if (opts.raw) {
      process.stdout.write(result.raw);
      return;
    }
    if (format === "json") {
      const out = {
        name: result.name,
        descriptor: result.descriptor,
        ...(result.index ? { index: result.index } : { manifest: result.manifest }),
      };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return;
    }
    process.stdout.write(prettyInspect(result.name, result.descriptor, result.index?.manifests));
  } finally {
    await clients.close();
  }
}

export async function createAction(sources: string[], opts: CreateOptions, debug: boolean): Promise<void> {
  const targets = opts.tag ?? [];
  if (targets.length === 0)
    throw new UserError("imagetools create needs a target", { hint: "add -t REGISTRY/REPO:TAG" });
  // Parse everything before touching the network, so a typo costs nothing.
  for (const r of [...targets, ...sources]) parseReference(r);
  const platforms: Platform[] = (opts.platform ?? []).flatMap(parsePlatformList);
  const annotations: Record<string, string> = {};
  for (const a of opts.annotation ?? []) {
    const eq = a.indexOf("=");
    if (eq <= 0)
      throw new UserError(`invalid --annotation ${JSON.stringify(a)}`, {
        hint: "write --annotation key=value",
      });
    annotations[a.slice(0, eq)] = a.slice(eq + 1);
  }
  const clients = registryClientsFor(opts, debug);
  try {
    const store = await openContentStore();
    const result = await createIndex(clients, store, {
      targets,
      sources,
      append: Boolean(opts.append),
      dryRun: Boolean(opts.dryRun),
      platforms,
      annotations,
      onStep: (m) => process.stderr.write(`${m}\n`),
    });
    for (const r of result.replaced) {
      process.stderr.write(
        `replaced ${formatPlatform(r.descriptor.platform!)} entry ${r.descriptor.digest} with the one from ${formatReference(r.by)}\n`,
      );
    }
    if (opts.dryRun) {
      process.stdout.write(`${JSON.stringify(result.index, null, 2)}\n`);
      return;
    }
    for (const t of targets)
      process.stdout.write(`${formatReference({ ...parseReference(t), digest: result.digest })}\n`);
  } finally {
    await clients.close();
  }
}

function prettyInspect(name: string, root: Descriptor, manifests: Descriptor[] | undefined): string {
  const lines = [`Name:      ${name}`, `MediaType: ${root.mediaType}`, `Digest:    ${root.digest}`];
  if (manifests) {
    lines.push("", "Manifests:");
    const base = name.replace(/@sha256:[a-f0-9]+$/, "").replace(/:[^:/]+$/, "");
    manifests.forEach((m, i) => {
      if (i > 0) lines.push("");
      lines.push(`  Name:      ${base}@${m.digest}`);
      lines.push(`  MediaType: ${m.mediaType}`);
      lines.push(`  Platform:  ${m.platform ? formatPlatform(m.platform) : "(none)"}`);
      for (const [k, v] of Object.entries(m.annotations ?? {})) lines.push(`  Annotation: ${k}=${v}`);
    });
  }
  return `${lines.join("\n")}\n`;
}
