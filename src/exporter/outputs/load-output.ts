/**
 * `--load` and `-o type=docker` without dest, as buildx: the image is streamed into a daemon's image store.
 * Docker with its classic store takes a docker archive of one platform; Docker with the containerd image
 * store takes the OCI archive with every platform. Podman (its API, or `podman load`) takes one platform.
 * The progress line names the daemon and how it was found, so the user knows where the image went.
 */
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import type { BlobProvider } from "../../content/index.ts";
import { UserError } from "../../errors/user-error.ts";
import { formatPlatform } from "../../oci/platform.ts";
import { formatReference, parseReference } from "../../registry/reference.ts";
import type { Assembly } from "../assemble.ts";
import type { LoadOutput } from "../output-spec.ts";
import { epochDate, formatCreated } from "../timestamps.ts";
import { engineInfo, loadArchive } from "./engine-api.ts";
import { layoutArchive } from "./layout-output.ts";
import { findLoadTarget, type LoadTarget } from "./load-target.ts";

export interface LoadOutputContext {
  store: BlobProvider;
  epoch?: number;
  now: Date;
  progress: (name: string) => (detail?: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface LoadOutputResult {
  type: "load";
  /** docker or podman, and how it was found (DOCKER_HOST, a docker context, the default socket, …). */
  daemon: string;
  names: string[];
  /** What the daemon reported loading. */
  loaded: string[];
}

export async function exportLoad(
  output: LoadOutput,
  assembly: Assembly,
  ctx: LoadOutputContext,
): Promise<LoadOutputResult> {
  const target = await findLoadTarget({
    allowPodman: output.allowPodman,
    ...(ctx.env ? { env: ctx.env } : {}),
  });
  const names = output.image.names.map((n) => formatReference(parseReference(n)));
  const created = formatCreated(ctx.epoch === undefined ? ctx.now : epochDate(ctx.epoch));
  const several = assembly.images.length > 1;

  let kind: "docker" | "oci" = "docker";
  let label: string;
  if (target.kind === "podman-cli") {
    label = `podman (${target.how})`;
  } else {
    const info = await engineInfo(target.endpoint);
    const product = target.kind === "podman" || info.podman ? "podman" : "Docker";
    label = `${product} ${info.serverVersion} at ${target.endpoint.host} (${target.how})`;
    if (info.containerdStore) kind = "oci";
  }
  if (several && kind !== "oci") {
    throw new UserError(
      `${label} keeps one platform per image name, and this build has ${assembly.images.length} (${assembly.images.map((i) => formatPlatform(i.platform)).join(", ")})`,
      {
        hint: "build one --platform to --load it, turn on Docker's containerd image store, or keep every platform with -t NAME (polyarch images) or -o type=oci,dest=image.tar",
      },
    );
  }
  const { writer, extraFiles } = layoutArchive(kind, assembly, names, created, ctx.store);
  const archive = writer.tarStream({ extraFiles });
  const done = ctx.progress(`loading into ${label}`);
  const loaded =
    target.kind === "podman-cli"
      ? await podmanLoad(target, archive)
      : await loadArchive(target.endpoint, archive);
  done(loaded.length ? `loaded ${loaded.join(", ")}` : undefined);
  return { type: "load", daemon: label, names, loaded };
}

/** `podman load` reading the archive from standard input; its own messages explain a failure. */
function podmanLoad(
  target: Extract<LoadTarget, { kind: "podman-cli" }>,
  archive: Readable,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    // An empty CONTAINER_HOST (no API socket answered there) would make podman itself refuse to start.
    const env = { ...process.env };
    if (!env.CONTAINER_HOST) delete env.CONTAINER_HOST;
    const child = spawn(target.program, ["load"], { stdio: ["pipe", "pipe", "pipe"], env });
    let out = "";
    const keep = (chunk: Buffer) => {
      if (out.length < 64 * 1024) out += chunk.toString("utf8");
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    // podman exiting early closes the pipe; its exit status then says why.
    child.stdin.on("error", () => {});
    archive.on("error", (e) => {
      child.kill("SIGKILL");
      reject(e);
    });
    archive.pipe(child.stdin);
    child.on("error", (e) =>
      reject(
        new UserError(`cannot run ${target.program}: ${e.message}`, { hint: "check the podman install" }),
      ),
    );
    child.on("close", (code) => {
      if (code === 0) {
        resolve([...out.matchAll(/Loaded image(?:\(s\))?: (\S+)/g)].flatMap((m) => m[1]!.split(",")));
      } else {
        reject(
          new UserError(
            `${target.how} failed (exit ${code}): ${out.trim().split("\n").slice(-3).join(" / ")}`,
            {
              hint: "write the archive with -o type=docker,dest=image.tar and run podman load -i image.tar to see more",
            },
          ),
        );
      }
    });
  });
}
