import type { Command } from "commander";
import { UserError } from "../../errors/user-error.ts";
import { collect } from "../collect.ts";

export interface InspectOptions {
  raw?: boolean;
  format?: string;
  insecureRegistry?: string[];
}

export interface CreateOptions {
  tag?: string[];
  file?: string[];
  preferIndex?: boolean;
  progress?: string;
  append?: boolean;
  dryRun?: boolean;
  platform?: string[];
  annotation?: string[];
  insecureRegistry?: string[];
}

function parseBool(value: string): boolean {
  if (/^(true|1)$/i.test(value)) return true;
  if (/^(false|0)$/i.test(value)) return false;
  throw new UserError(`--prefer-index takes true or false, not ${JSON.stringify(value)}`);
}

export function registerImagetools(program: Command): void {
  const imagetools = program.command("imagetools").description("work with images and indexes in a registry");
  const isDebug = () => Boolean(program.opts().debug);

  imagetools
    .command("inspect")
    .description("show an image or index: its media type, digest and the platforms it serves")
    .argument("<ref>", "image reference, e.g. registry.example.com/app:1")
    .option("--raw", "print the manifest or index exactly as the registry serves it")
    .option(
      "--format <template>",
      "a Go template as buildx takes it, e.g. '{{json .Manifest}}', '{{json .Image}}', '{{.Name}}', '{{json .Provenance}}'; or json",
    )
    .option(
      "--insecure-registry <host>",
      "allow plain HTTP or an untrusted certificate for this registry",
      collect,
    )
    .action(async (reference: string, opts: InspectOptions) =>
      (await import("./imagetools-action.ts")).inspectAction(reference, opts, isDebug()),
    );

  imagetools
    .command("create")
    .description("create an index (multi-platform tag) from existing images and indexes")
    .argument("[source...]", "images or indexes to combine")
    .option("-t, --tag <ref>", "reference to write the index to (repeatable)", collect)
    .option(
      "-f, --file <file>",
      "read a source (a descriptor as JSON, a digest or a reference) from FILE (repeatable; - for stdin)",
      collect,
    )
    .option(
      "--prefer-index [bool]",
      "with one single-platform source, write an index (default true); false copies the manifest as it is",
      parseBool,
      true,
    )
    .option("--progress <mode>", "progress output on stderr: auto, plain, tty, rawjson or quiet", "auto")
    .option("--append", "keep the entries of the index the first -t already points at")
    .option("--dry-run", "print the index instead of pushing it")
    .option(
      "--platform <platforms>",
      "take only these platforms from the sources (comma-separated, repeatable)",
      collect,
    )
    .option(
      "--annotation <[type:]key=value>",
      "annotate the index (index:KEY=VALUE, the default) or its entries (manifest-descriptor[PLATFORM]:KEY=VALUE); repeatable",
      collect,
    )
    .option(
      "--insecure-registry <host>",
      "allow plain HTTP or an untrusted certificate for this registry",
      collect,
    )
    .action(async (sources: string[], opts: CreateOptions) =>
      (await import("./imagetools-action.ts")).createAction(sources, opts, isDebug()),
    );
}
