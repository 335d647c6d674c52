import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type BuildOptions, type BuildResult, build } from "../../../src/api/build.ts";
import { parseOutputs } from "../../../src/exporter/parse-outputs.ts";
import type { ImageConfig } from "../../../src/oci/image-config.ts";
import { type Platform, parsePlatformList } from "../../../src/oci/platform.ts";
import type { ProgressEvent, ProgressSink } from "../../../src/progress/events.ts";
import { runOk } from "../../harness/exec.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";

/** A watchdog for every RUN: QEMU 7.2 can hang when an emulated PID 1 dies of a signal (see the guide). */
export const execTimeoutMs = 120_000;

export const twoPlatforms = parsePlatformList("linux/amd64,linux/arm64");

/** Collects every progress event of a build. */
export class Recorder implements ProgressSink {
  readonly events: ProgressEvent[] = [];
  emit(event: ProgressEvent): void {
    this.events.push(event);
  }
  async close(): Promise<void> {}

  /** Names of the steps that ran (vertex.start), in order. */
  started(): string[] {
    return this.events.flatMap((e) => (e.type === "vertex.start" ? [e.name] : []));
  }
  cached(): string[] {
    return this.events.flatMap((e) => (e.type === "vertex.cached" ? [e.name] : []));
  }
  /** Everything the build printed from its steps. */
  logs(): string {
    return this.events
      .flatMap((e) => (e.type === "vertex.log" ? [Buffer.from(e.data).toString()] : []))
      .join("");
  }
}

/** A registry with the busybox fixture, a state dir and a scratch dir, shared by one test file. */
export class BuildFixture {
  readonly dir: string;
  readonly registry: TestRegistry;
  readonly base: string;
  #seq = 0;

  private constructor(dir: string, registry: TestRegistry, base: string) {
    this.dir = dir;
    this.registry = registry;
    this.base = base;
  }

  static async create(): Promise<BuildFixture> {
    const dir = await mkdtemp(join(tmpdir(), "polyarch-build-it-"));
    const registry = await startRegistry();
    const pushed = await pushBusyboxImage(registry);
    return new BuildFixture(dir, registry, pushed.ref);
  }

  get stateRoot(): string {
    return join(this.dir, "state");
  }

  /** A fresh context directory holding `files` (a Dockerfile among them, usually). */
  async context(files: Record<string, string>): Promise<string> {
    const ctx = join(this.dir, `ctx-${++this.#seq}`);
    await mkdir(ctx, { recursive: true });
    await writeFiles(ctx, files);
    return ctx;
  }

  /** Builds `context` to an OCI archive; returns the result, the archive path and the recorded events. */
  async build(
    context: string,
    options: Partial<BuildOptions> & { platforms?: Platform[] } = {},
  ): Promise<BuildResult & { tar: string; progress: Recorder }> {
    const progress = new Recorder();
    const tar = join(this.dir, `out-${++this.#seq}.tar`);
    const result = await build({
      context,
      platforms: twoPlatforms,
      outputs: parseOutputs({ output: [`type=oci,dest=${tar}`], tags: [], push: false }),
      progress,
      stateRoot: this.stateRoot,
      execTimeoutMs,
      ...options,
    });
    return { ...result, tar, progress };
  }

  /** Stops the registry and removes the files; fails when a build left a mount behind. */
  async dispose(): Promise<void> {
    await this.registry.stop();
    const left = (await readFile("/proc/mounts", "utf8"))
      .split("\n")
      .map((l) => l.split(" ")[1] ?? "")
      .filter((m) => m.startsWith(`${this.dir}/`));
    for (const m of left.reverse()) await runOk("umount", ["-l", m]);
    await rm(this.dir, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`builds left mounts behind:\n${left.join("\n")}`);
  }
}

export async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

export interface UnpackedImage {
  rootfs: string;
  bundle: string;
  config: ImageConfig;
}

/**
 * One platform's image out of an OCI archive, by independent tools: skopeo picks the platform from the
 * index, umoci unpacks it into a runtime bundle.
 */
export async function unpackPlatform(tar: string, platform: Platform, work: string): Promise<UnpackedImage> {
  const tag = `${platform.architecture}${platform.variant ?? ""}`;
  const layout = join(work, `layout-${tag}`);
  const bundle = join(work, `bundle-${tag}`);
  await rm(layout, { recursive: true, force: true });
  await rm(bundle, { recursive: true, force: true });
  const overrides = ["--override-os", platform.os, "--override-arch", platform.architecture];
  if (platform.variant) overrides.push("--override-variant", platform.variant);
  await runOk("skopeo", ["copy", "--quiet", ...overrides, `oci-archive:${tar}`, `oci:${layout}:img`]);
  const config = JSON.parse(
    (await runOk("skopeo", ["inspect", "--config", "--raw", `oci:${layout}:img`])).stdout,
  ) as ImageConfig;
  await runOk("umoci", ["unpack", "--image", `${layout}:img`, bundle]);
  return { rootfs: join(bundle, "rootfs"), bundle, config };
}

/** Runs `args` in an unpacked image with runc (under QEMU for a foreign platform), with a watchdog. */
export async function runInImage(image: UnpackedImage, args: string[]): Promise<string> {
  const configPath = join(image.bundle, "config.json");
  const config = JSON.parse(await readFile(configPath, "utf8")) as {
    process: { terminal: boolean; args: string[] };
  };
  config.process.terminal = false;
  config.process.args = args;
  await writeFile(configPath, JSON.stringify(config));
  const id = `polyarch-it-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  return (await runOk("runc", ["run", "--bundle", image.bundle, id], { timeoutMs: 60_000 })).stdout;
}
