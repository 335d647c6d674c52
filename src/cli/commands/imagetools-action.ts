import { readFile } from "node:fs/promises";
import { createIndex, type DescriptorAnnotation } from "../../api/imagetools/create-index.ts";
import { inspectImage } from "../../api/imagetools/inspect.ts";
import { formatInspect } from "../../api/imagetools/inspect-format.ts";
import { UserError } from "../../errors/user-error.ts";
import { formatPlatform, type Platform, parsePlatformList } from "../../oci/platform.ts";
import { createProgress, PROGRESS_MODES, type ProgressMode } from "../../progress/index.ts";
import { formatReference, parseReference } from "../../registry/reference.ts";
import { parseAnnotationFlags } from "../annotation-flags.ts";
import { openContentStore, registryClientsFor } from "../registry-setup.ts";
import type { CreateOptions, InspectOptions } from "./imagetools.ts";

export async function inspectAction(reference: string, opts: InspectOptions, debug: boolean): Promise<void> {
  // "pretty" and "json" are polyarch's own names; anything else is a Go template, as buildx reads --format.
  const format = opts.format ?? "";
  if (opts.raw && format !== "")
    throw new UserError("--format and --raw cannot be used together", {
      hint: "--raw prints the manifest exactly as stored; --format renders a template",
    });
  if (format !== "" && format !== "pretty" && format !== "json" && !format.includes("{{"))
    throw new UserError(`unknown --format ${JSON.stringify(format)}`, {
      hint: "use a Go template as buildx does, e.g. --format '{{json .Manifest}}', or --format json",
    });
  const clients = registryClientsFor(opts, debug);
  try {
    if (opts.raw) {
      process.stdout.write((await inspectImage(clients, reference)).raw);
      return;
    }
    if (format === "json") {
      const result = await inspectImage(clients, reference);
      const out = {
        name: result.name,
        descriptor: result.descriptor,
        ...(result.index ? { index: result.index } : { manifest: result.manifest }),
      };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return;
    }
    const store = await openContentStore();
    // As buildx: a template's output is printed as it renders, without a newline of our own.
    process.stdout.write(await formatInspect(clients, store, reference, format === "pretty" ? "" : format));
  } finally {
    await clients.close();
  }
}

export async function createAction(sources: string[], opts: CreateOptions, debug: boolean): Promise<void> {
  const targets = opts.tag ?? [];
  if (targets.length === 0 && !opts.dryRun)
    throw new UserError("imagetools create needs a target to push to", {
      hint: "add -t REGISTRY/REPO:TAG, or --dry-run to print the result",
    });
  const progressMode = opts.progress ?? "auto";
  if (!PROGRESS_MODES.includes(progressMode as ProgressMode))
    throw new UserError(`invalid --progress ${JSON.stringify(progressMode)}`, {
      hint: `use one of: ${PROGRESS_MODES.join(", ")}`,
    });
  // As buildx: each -f FILE holds one source (a descriptor, digest or reference), read before the arguments.
  const fileSources = await Promise.all((opts.file ?? []).map((f) => readSourceFile(f)));
  const allSources = [...fileSources, ...sources];
  // Parse everything before touching the network, so a typo costs nothing.
  for (const r of targets) parseReference(r);
  const platforms: Platform[] = (opts.platform ?? []).flatMap(parsePlatformList);
  const { annotations, descriptorAnnotations } = createAnnotations(opts.annotation ?? []);
  const clients = registryClientsFor(opts, debug);
  const progress = createProgress(progressMode as ProgressMode, process.stderr);
  const vertex = "imagetools-create";
  let started = false;
  const onStep = (m: string) => {
    if (!started) {
      started = true;
      progress.emit({
        type: "vertex.start",
        id: vertex,
        name: `[internal] pushing ${targets.join(", ")}`,
        at: Date.now(),
      });
    }
    progress.emit({
      type: "vertex.log",
      id: vertex,
      stream: "stdout",
      data: Buffer.from(`${m}\n`),
      at: Date.now(),
    });
  };
  const begun = Date.now();
  let failure: string | undefined;
  try {
    const store = await openContentStore();
    const result = await createIndex(clients, store, {
      targets,
      sources: allSources,
      append: Boolean(opts.append),
      dryRun: Boolean(opts.dryRun),
      preferIndex: opts.preferIndex !== false,
      platforms,
      annotations,
      descriptorAnnotations,
      onStep,
    });
    for (const r of result.replaced) {
      progress.emit({
        type: "warning",
        message: `replaced ${formatPlatform(r.descriptor.platform!)} entry ${r.descriptor.digest} with the one from ${formatReference(r.by)}`,
        at: Date.now(),
      });
    }
    if (opts.dryRun) {
      // The exact bytes that would be pushed, so their digest can be checked.
      process.stdout.write(`${result.bytes.toString("utf8")}\n`);
      return;
    }
    for (const t of targets)
      process.stdout.write(`${formatReference({ ...parseReference(t), digest: result.digest })}\n`);
  } catch (e) {
    failure = e instanceof Error ? e.message : String(e);
    throw e;
  } finally {
    if (started)
      progress.emit({
        type: "vertex.done",
        id: vertex,
        durationMs: Date.now() - begun,
        ...(failure === undefined ? {} : { error: failure }),
        at: Date.now(),
      });
    await progress.close();
    await clients.close();
  }
}

async function readSourceFile(file: string): Promise<string> {
  try {
    return file === "-" ? await readStdinText() : await readFile(file, "utf8");
  } catch (e) {
    throw new UserError(`cannot read -f ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      hint: "give a file holding a descriptor (JSON), a digest or a reference",
    });
  }
}

async function readStdinText(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * `--annotation` of imagetools create: `index:` (also the meaning of a bare KEY=VALUE, as polyarch always
 * read it) and `manifest-descriptor[PLATFORM]:`. The others name objects create does not write: an error,
 * as in buildx, rather than a key with the prefix in its name.
 */
function createAnnotations(values: readonly string[]): {
  annotations: Record<string, string>;
  descriptorAnnotations: DescriptorAnnotation[];
} {
  const annotations: Record<string, string> = {};
  const descriptorAnnotations: DescriptorAnnotation[] = [];
  for (const a of parseAnnotationFlags(values, "index")) {
    if (a.target === "index") annotations[a.key] = a.value;
    else if (a.target === "manifest-descriptor")
      descriptorAnnotations.push({
        key: a.key,
        value: a.value,
        ...(a.platform ? { platform: a.platform } : {}),
      });
    else
      throw new UserError(
        `--annotation ${a.target}:${a.key}: imagetools create does not write a ${a.target === "manifest" ? "manifest" : "root descriptor"}`,
        {
          hint: "use index:KEY=VALUE or manifest-descriptor[:PLATFORM]:KEY=VALUE",
        },
      );
  }
  return { annotations, descriptorAnnotations };
}
