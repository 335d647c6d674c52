import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  type BuildCase,
  type BuildKit,
  errorLines,
  imageConfigOfOciTar,
  type Observed,
  readTree,
  startBuildKit,
} from "../harness/buildkit.ts";
import { pushBusyboxImage } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { polyarch } from "../support/cli.ts";

/** A context file: text, or a symlink (`{ link: target }`). */
export type ContextFile = string | { link: string };

/**
 * One BuildKit daemon, one registry with busybox and one polyarch state root, shared by a test file; each
 * case is built by both and what a user sees of each is returned for comparison.
 */
export class Differential implements AsyncDisposable {
  #seq = 0;
  readonly dir: string;
  readonly registry: TestRegistry;
  readonly buildkit: BuildKit;
  /** The busybox reference to put in FROM lines. */
  readonly base: string;

  private constructor(dir: string, registry: TestRegistry, buildkit: BuildKit, base: string) {
    this.dir = dir;
    this.registry = registry;
    this.buildkit = buildkit;
    this.base = base;
  }

  static async start(): Promise<Differential> {
    const registry = await startRegistry();
    try {
      const pushed = await pushBusyboxImage(registry);
      const buildkit = await startBuildKit([registry.host]);
      const dir = await mkdtemp(join(tmpdir(), "polyarch-differential-"));
      return new Differential(dir, registry, buildkit, pushed.ref);
    } catch (e) {
      await registry.stop();
      throw e;
    }
  }

  /** Writes a fresh context; names are relative paths, parents are made as needed. */
  async context(files: Record<string, ContextFile>): Promise<string> {
    const ctx = join(this.dir, `ctx-${++this.#seq}`);
    await mkdir(ctx, { recursive: true });
    for (const [name, content] of Object.entries(files)) {
      const path = join(ctx, name);
      await mkdir(dirname(path), { recursive: true });
      if (typeof content === "string") await writeFile(path, content);
      else await symlink(content.link, path);
    }
    return ctx;
  }

  /** Builds `files` (a Dockerfile among them) with BuildKit and with polyarch. */
  async both(
    files: Record<string, ContextFile>,
    options: BuildCase,
  ): Promise<{ buildkit: Observed; polyarch: Observed }> {
    const ctx = await this.context(files);
    const [buildkit, ours] = [await this.buildkit.build(ctx, options), await this.polyarch(ctx, options)];
    return { buildkit, polyarch: ours };
  }

  /**
   * `--call check` of `files` by both: each finding as printed (rule and URL, detail, the framed source
   * lines), in the order printed. buildctl prints no summary line, so only the findings are compared.
   */
  async checkBoth(
    files: Record<string, ContextFile>,
    buildArgs: Record<string, string> = {},
  ): Promise<{ buildkit: string[]; polyarch: string[]; output: string }> {
    const ctx = await this.context(files);
    const bk = await this.buildkit.check(ctx, { buildArgs });
    const args = ["build", "--call", "check", "--platform", "linux/amd64"];
    for (const [k, v] of Object.entries(buildArgs)) args.push("--build-arg", `${k}=${v}`);
    // From inside the context, as a user runs it, so that the file is named `Dockerfile` as buildx names it.
    const ours = await polyarch([...args, "."], {
      cwd: ctx,
      env: { POLYARCH_ROOT: join(this.dir, "state"), ...this.registry.env() },
    });
    return {
      buildkit: findingBlocks(bk.output),
      polyarch: findingBlocks(ours.stdout),
      output: `BuildKit:\n${bk.output}\npolyarch:\n${ours.stdout}${ours.stderr}`,
    };
  }

  async polyarch(context: string, options: BuildCase): Promise<Observed> {
    const out = join(this.dir, `out-${++this.#seq}`);
    const args = ["build", "--progress=plain", "--platform", options.platform ?? "linux/amd64"];
    for (const [k, v] of Object.entries(options.buildArgs ?? {})) args.push("--build-arg", `${k}=${v}`);
    if (options.target) args.push("--target", options.target);
    for (const [name, value] of Object.entries(options.namedContexts ?? {}))
      args.push("--build-context", `${name}=${value}`);
    for (const [id, src] of Object.entries(options.secrets ?? {}))
      args.push("--secret", `id=${id},src=${src}`);
    args.push(...(options.polyarchArgs ?? []));
    args.push(
      "-o",
      options.output === "local" ? `type=local,dest=${out}` : `type=oci,dest=${out}.tar`,
      options.remoteContext ?? context,
    );
    const r = await polyarch(args, {
      env: { POLYARCH_ROOT: join(this.dir, "state"), ...this.registry.env() },
    });
    const output = r.stderr + r.stdout;
    if (r.code !== 0) return { ok: false, error: errorLines(output), output };
    return options.output === "local"
      ? { ok: true, error: "", output, tree: await readTree(out) }
      : { ok: true, error: "", output, config: await imageConfigOfOciTar(`${out}.tar`, this.dir) };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.buildkit.stop();
    await this.registry.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

// A finding runs from its `WARNING:` line to the dashes that close its source excerpt.
function findingBlocks(output: string): string[] {
  const blocks: string[] = [];
  let current: string[] | undefined;
  let dashes = 0;
  for (const line of output.split("\n")) {
    if (line.startsWith("WARNING: ")) {
      current = [line];
      dashes = 0;
      continue;
    }
    if (!current) continue;
    current.push(line);
    if (/^-+$/.test(line) && ++dashes === 2) {
      blocks.push(current.join("\n"));
      current = undefined;
    }
  }
  return blocks;
}

/** Both built, and the trees are the same entry by entry. */
export function assertSameTree(seen: { buildkit: Observed; polyarch: Observed }): void {
  assert.ok(seen.buildkit.ok, `BuildKit failed:\n${seen.buildkit.output}`);
  assert.ok(seen.polyarch.ok, `polyarch failed:\n${seen.polyarch.output}`);
  assert.deepEqual(seen.polyarch.tree, seen.buildkit.tree);
}

/** Both failed, and polyarch's error starts (after its location) with BuildKit's words. */
export function assertSameError(seen: { buildkit: Observed; polyarch: Observed }, words: string): void {
  assert.ok(!seen.buildkit.ok, `BuildKit built it:\n${seen.buildkit.output}`);
  assert.ok(!seen.polyarch.ok, `polyarch built it:\n${seen.polyarch.output}`);
  assert.ok(
    seen.buildkit.error.includes(words),
    `BuildKit's error no longer says ${words}:\n${seen.buildkit.error}`,
  );
  const message = seen.polyarch.error.replace(/^error: (\S+:\d+(:\d+)?: )?/, "");
  assert.ok(
    message.startsWith(words),
    `polyarch's error does not start with ${JSON.stringify(words)}:\n${seen.polyarch.error}`,
  );
}
