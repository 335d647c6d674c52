import type { Command } from "commander";
import { createIndex } from "../../api/imagetools/create-index.ts";
import { inspectImage } from "../../api/imagetools/inspect.ts";
import { UserError } from "../../errors/user-error.ts";
import type { Descriptor } from "../../oci/descriptor.ts";
import { formatPlatform, type Platform, parsePlatformList } from "../../oci/platform.ts";
import { formatReference, parseReference } from "../../registry/reference.ts";
import { collect, openContentStore, registryClientsFor } from "../registry-setup.ts";

export function registerImagetools(program: Command): void {
  const imagetools = program.command("imagetools").description("work with images and indexes in a registry");
  const isDebug = () => Boolean(program.opts().debug);

  imagetools
    .command("inspect")
    .description("show an image or index: its media type, digest and the platforms it serves")
    .argument("<ref>", "image reference, e.g. registry.example.com/app:1")
    .option("--raw", "print the manifest or index exactly as the registry serves it")
    .option("--format <format>", "output format: pretty (default) or json")
    .option(
      "--insecure-registry <host>",
      "allow plain HTTP or an untrusted certificate for this registry",
      collect,
    )
    .action(
      async (reference: string, opts: { raw?: boolean; format?: string; insecureRegistry?: string[] }) => {
        const format = opts.format ?? "pretty";
        if (format !== "pretty" && format !== "json")
          throw new UserError(`unknown --format ${JSON.stringify(format)}`, {
            hint: "use --format pretty or --format json",
          });
        const clients = registryClientsFor(opts, isDebug());
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
      },
    );

  imagetools
    .command("create")
    .description("create an index (multi-platform tag) from existing images and indexes")
    .argument("[source...]", "images or indexes to combine")
    .option("-t, --tag <ref>", "reference to write the index to (repeatable)", collect)
    .option("--append", "keep the entries of the index the first -t already points at")
    .option("--dry-run", "print the index instead of pushing it")
    .option(
      "--platform <platforms>",
      "take only these platforms from the sources (comma-separated, repeatable)",
      collect,
    )
    .option("--annotation <key=value>", "add an annotation to the index (repeatable)", collect)
    .option(
      "--insecure-registry <host>",
      "allow plain HTTP or an untrusted certificate for this registry",
      collect,
    )
    .action(
      async (
        sources: string[],
        opts: {
          tag?: string[];
          append?: boolean;
          dryRun?: boolean;
          platform?: string[];
          annotation?: string[];
          insecureRegistry?: string[];
        },
      ) => {
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
        const clients = registryClientsFor(opts, isDebug());
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
      },
    );
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
