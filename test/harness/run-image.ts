import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runOk } from "./exec.ts";

export interface RunImageOptions {
  /** A skopeo source: `docker://host/repo:tag` or `oci-archive:/path.tar`. */
  source: string;
  os?: string;
  architecture: string;
  variant?: string | undefined;
  /** A scratch directory for the layout and bundle (removed by the caller). */
  workDir: string;
  /** The process to run instead of the image's own ENTRYPOINT/CMD. */
  args?: string[];
  /** Extra skopeo flags, e.g. --src-tls-verify=false. */
  skopeoFlags?: string[];
}

/**
 * Runs one platform's image the way a runtime would, with independent tools: skopeo picks the platform's
 * manifest, umoci unpacks it into a runtime bundle, runc runs it (under QEMU through binfmt_misc when the
 * CPU is foreign). Returns what it printed. The watchdog matters: Debian 12's QEMU 7.2 can hang when an
 * emulated PID 1 dies of a signal.
 */
export async function runImage(options: RunImageOptions): Promise<string> {
  const tag = `${options.architecture}${options.variant ?? ""}`;
  const layout = join(options.workDir, `layout-${tag}`);
  const bundle = join(options.workDir, `bundle-${tag}`);
  const overrides = [
    "--override-os",
    options.os ?? "linux",
    "--override-arch",
    options.architecture,
    ...(options.variant ? ["--override-variant", options.variant] : []),
  ];
  await runOk("skopeo", [
    "copy",
    "--quiet",
    ...overrides,
    ...(options.skopeoFlags ?? []),
    options.source,
    `oci:${layout}:img`,
  ]);
  await runOk("umoci", ["unpack", "--image", `${layout}:img`, bundle]);
  const configPath = join(bundle, "config.json");
  const config = JSON.parse(await readFile(configPath, "utf8")) as {
    process: { terminal: boolean; args: string[] };
  };
  config.process.terminal = false;
  if (options.args) config.process.args = options.args;
  await writeFile(configPath, JSON.stringify(config));
  const id = `polyarch-run-${process.pid}-${tag}-${Date.now()}`;
  const { stdout } = await runOk("runc", ["run", "--bundle", bundle, id], { timeoutMs: 60_000 });
  return stdout.trim();
}
