/**
 * `polyarch run`: a container of one platform of an image polyarch's image store keeps, the daemonless
 * `docker run --rm --platform P NAME [CMD…]`. The image's layers become (or already are) the shared layer
 * snapshots builds use, through the solver as a `FROM NAME` would; the container writes to a fresh
 * snapshot over them that is removed when it exits, so nothing of a run is kept. A foreign platform runs
 * under QEMU (binfmt_misc), as RUN steps do.
 */
import { join } from "node:path";
import { openContentStore } from "../content/local-store.ts";
import { defaultStateDir } from "../content/paths.ts";
import { prepareStateRoot } from "../content/state-root.ts";
import { UserError } from "../errors/user-error.ts";
import { addVertex, emptyGraph } from "../graph/build.ts";
import { getImage } from "../images/image-store.ts";
import { formatPlatform, hostPlatform, type Platform } from "../oci/platform.ts";
import type { ProgressSink } from "../progress/events.ts";
import { ImageResolver } from "../solver/image-resolver.ts";
import type { ContainerVolume } from "../worker/container-process.ts";
import type { Worker } from "../worker/worker.ts";

export interface RunOptions {
  /** A stored image's name (`polyarch images`). */
  name: string;
  /** Default: this machine's platform. */
  platform?: Platform;
  /** Replaces the image's Cmd when non-empty. */
  args?: readonly string[];
  /** Replaces the image's Entrypoint and Cmd (`--entrypoint`). */
  entrypoint?: readonly string[];
  /** `-e`: KEY=VALUE entries replacing or adding to the image's Env. */
  env?: readonly string[];
  /** `-v`: host paths bound into the container (see run-flags.ts for reading them). */
  volumes?: readonly ContainerVolume[];
  /** `-i`: the container reads this process's stdin. */
  stdin?: boolean;
  /** `-t`: the container gets a terminal; this process's stdin must be one. Output then bypasses onOutput. */
  tty?: boolean;
  onOutput: (stream: "stdout" | "stderr", chunk: Buffer) => void;
  /** Where layer unpacking is reported (nothing else of a run is a step). */
  progress: ProgressSink;
  signal?: AbortSignal;
  stateRoot?: string;
  binfmtDir?: string;
  /** Default: the local runc/overlay worker on the state root. */
  worker?: Worker;
}

/** Runs the container; resolves its exit code. */
export async function runImage(options: RunOptions): Promise<number> {
  const stateRoot = options.stateRoot ?? defaultStateDir();
  await prepareStateRoot(stateRoot);
  const store = await openContentStore(join(stateRoot, "content"));
  const stored = await getImage(store, options.name);
  const platform = options.platform ?? hostPlatform();
  // No registry: a stored image is all a run may use.
  const resolver = new ImageResolver({ store });
  const [{ Solver }, { LocalWorker }] = await Promise.all([
    import("../solver/solver.ts"),
    import("../worker/local/local-worker.ts"),
  ]);
  const worker =
    options.worker ??
    new LocalWorker({
      stateRoot,
      ...(options.binfmtDir !== undefined ? { binfmtDir: options.binfmtDir } : {}),
    });
  try {
    const resolved = await resolver.resolveImage(stored.name, platform);
    if (resolved.digest !== stored.descriptor.digest) {
      throw new Error(`run: ${stored.name} resolved to ${resolved.digest}, not the stored image`);
    }
    const graph = emptyGraph();
    const source = addVertex(graph, {
      kind: "source",
      source: { type: "image", ref: stored.name, digest: resolved.digest, platform },
    });
    const solver = new Solver({
      stateRoot,
      worker,
      store,
      progress: options.progress,
      images: resolver,
      localContexts: async () => {
        throw new Error("run: a stored image has no local context");
      },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const solved = await solver.solve({
      graph,
      platforms: [
        {
          platform,
          output: source,
          layerVertices: [],
          baseVertex: source,
          baseImage: { ref: stored.name, digest: resolved.digest },
        },
      ],
      trees: true,
    });
    const { exitCode } = await solved.refs[0]!.run({
      config: resolved.config.config,
      command: {
        ...(options.args ? { args: options.args } : {}),
        ...(options.entrypoint ? { entrypoint: options.entrypoint } : {}),
        ...(options.env?.length ? { env: options.env } : {}),
      },
      ...(options.volumes?.length ? { volumes: options.volumes } : {}),
      ...(options.stdin ? { stdin: true } : {}),
      ...(options.tty ? { tty: true } : {}),
      what: `${stored.name} (${formatPlatform(platform)})`,
      signal: options.signal ?? new AbortController().signal,
      onOutput: options.onOutput,
    });
    return exitCode;
  } catch (e) {
    if (options.signal?.aborted && !(e instanceof UserError)) {
      throw new UserError("the run was canceled", { cause: e });
    }
    throw e;
  } finally {
    await worker.settle();
    await resolver.close();
  }
}
