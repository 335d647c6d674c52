/**
 * An image source: its layers pulled into the content store (verified) and each unpacked once into a
 * layer directory named by its diff_id, which every build and platform using that layer then shares.
 * Unpacking writes overlay whiteouts, so the directories stack as overlay lowerdirs.
 *
 * A layer's hard links to files of the layers below cannot be made in its own directory (it holds only
 * that layer); they are made in a second directory stacked right above it, named by the chain ID (the
 * links' content depends on every layer below), once the layers below are unpacked. Which links a layer
 * has is kept next to its directory (`lower-links/HEX.json`, written before the directory is adopted),
 * so a later build that finds the directory knows them without reading the layer again.
 *
 * An entry under a lower layer's symlink (`bin -> usr/bin` below, `bin/sh` in the layer) belongs at the
 * link's target, which a layer unpacked on its own cannot know. The directories it made or missed are
 * kept the same way (`lower-paths/HEX.json`); when, over a given chain, one of them is a lower symlink,
 * the layer is unpacked again onto that chain, into a directory named by the chain ID (`chain-HEX`),
 * which takes the layer's place in that chain only. Which chains need it is remembered
 * (`lower-symlinks/CHAINHEX.json`), so cached builds do not look again. Ordinary layers never need it
 * and keep their shared directory.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../errors/user-error.ts";
import { writeFileAtomic } from "../fsutil/atomic-file.ts";
import type { ImageSource } from "../graph/types.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { type Digest, digestHex } from "../oci/digest.ts";
import type { Chain, LowerLink, LowerPaths } from "../worker/worker.ts";
import { acquireForStep } from "./lock-wait.ts";
import type { RunEnv } from "./run-env.ts";

function short(d: string): string {
  return d.slice(0, 19);
}

export async function runImage(env: RunEnv, id: string, source: ImageSource): Promise<string[]> {
  if (!source.digest) {
    throw new UserError(`image ${source.ref} was not resolved to a digest`, {
      hint: "this is a bug in polyarch: the planner should have pinned it",
    });
  }
  const image = await env.images.withLayers(source.ref, source.digest, source.platform, (layer, outcome) => {
    env.progress.status(
      id,
      layer.digest,
      `${outcome === "fetched" ? "pulled" : "found"} ${short(layer.digest)}`,
      {
        current: layer.size,
        total: layer.size,
        done: true,
      },
    );
  });
  const diffIds = image.config.rootfs.diff_ids;
  if (diffIds.length !== image.manifest.layers.length) {
    throw new UserError(
      `${source.ref}: the image has ${image.manifest.layers.length} layers but its config lists ${diffIds.length} diff_ids`,
    );
  }
  return unpackLayerStack(env, id, image.manifest.layers, diffIds, source.ref);
}

/**
 * A stack of layers whose blobs are in the store (an image's, or an imported cache's result of a step), as a
 * chain of snapshots, bottom first: each layer unpacked once into its shared directory, with the
 * directories for links to lower files and for lower symlinks that the chain needs (see the top comment).
 */
export async function unpackLayerStack(
  env: RunEnv,
  id: string,
  layers: readonly Descriptor[],
  diffIds: readonly Digest[],
  what: string,
): Promise<string[]> {
  const image = { manifest: { layers } };
  const source = { ref: what };
  const names = await Promise.all(
    image.manifest.layers.map((layer, i) => unpacked(env, id, layer, diffIds[i]!, source.ref)),
  );
  const chain: string[] = [];
  let chainId = "";
  for (const [i, shared] of names.entries()) {
    const diffId = diffIds[i]!;
    chainId =
      i === 0 ? diffId : `sha256:${createHash("sha256").update(`${chainId} ${diffId}`).digest("hex")}`;
    let name = shared;
    if (i > 0 && (await needsLowerSymlinks(env, shared, [...chain], chainId))) {
      const layer = image.manifest.layers[i]!;
      name = `chain-${digestHex(chainId as Digest)}`;
      await unpackOnce(env, name, () => unpack(env, id, layer, diffId, name, source.ref, [...chain]));
    }
    const links = await sidecar<LowerLink[]>(env, "lower-links", name, []);
    chain.push(name);
    if (links.length > 0) chain.push(await linksDir(env, chain.slice(0, -1), name, chainId, links));
  }
  return chain;
}

/** What unpacking a layer snapshot found, kept beside it (see the top comment). */
function sidecarFile(env: RunEnv, kind: string, snapshot: string): string {
  // Shared layers' files are named by the diff_id's hex alone, as before chain directories existed.
  return join(env.ws.root, kind, `${snapshot.replace(/^diff-/, "")}.json`);
}

async function sidecar<T>(env: RunEnv, kind: string, snapshot: string, none: T): Promise<T> {
  try {
    return JSON.parse(await readFile(sidecarFile(env, kind, snapshot), "utf8")) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return none;
    throw e;
  }
}

async function writeSidecar(env: RunEnv, kind: string, snapshot: string, value: unknown): Promise<void> {
  const file = sidecarFile(env, kind, snapshot);
  await mkdir(join(file, ".."), { recursive: true });
  await writeFileAtomic(file, JSON.stringify(value));
}

/** Whether the shared layer directory `layer` is wrong over `below` (see the top comment). */
async function needsLowerSymlinks(
  env: RunEnv,
  layer: string,
  below: Chain,
  chainId: string,
): Promise<boolean> {
  const paths = await sidecar<LowerPaths>(env, "lower-paths", layer, { created: [], missing: [] });
  if (paths.created.length === 0 && paths.missing.length === 0) return false;
  const key = `chain-${digestHex(chainId as Digest)}`;
  const known = await sidecar<boolean | null>(env, "lower-symlinks", key, null);
  if (known !== null) return known;
  const needed = await env.worker.needsLowerSymlinks(layer, below, paths);
  await writeSidecar(env, "lower-symlinks", key, needed);
  return needed;
}

/** The directory holding a layer's links to lower files, made from a view of the layers below. */
async function linksDir(
  env: RunEnv,
  below: readonly string[],
  layerName: string,
  chainId: string,
  links: readonly LowerLink[],
): Promise<string> {
  const name = `links-${chainId.slice("sha256:".length)}`;
  if (await env.worker.hasSnapshot(name)) return name;
  await env.worker.linkLower(name, layerName, below, links);
  return name;
}

async function unpacked(
  env: RunEnv,
  id: string,
  layer: Descriptor,
  diffId: Digest,
  ref: string,
): Promise<string> {
  const name = `diff-${digestHex(diffId)}`;
  await unpackOnce(env, name, () => unpack(env, id, layer, diffId, name, ref));
  return name;
}

/** One unpack of a snapshot per build, however many platforms or stages ask for it. */
async function unpackOnce(env: RunEnv, name: string, run: () => Promise<void>): Promise<void> {
  let p = env.unpacks.get(name);
  if (!p) {
    p = run();
    env.unpacks.set(name, p);
    p.catch(() => env.unpacks.delete(name));
  }
  await p;
}

async function unpack(
  env: RunEnv,
  id: string,
  layer: Descriptor,
  diffId: Digest,
  name: string,
  ref: string,
  below?: Chain,
): Promise<void> {
  if (await env.worker.hasSnapshot(name)) return;
  const lock = await acquireForStep(env, name, id, `layer ${short(layer.digest)} of ${ref}`);
  try {
    if (lock.waited && (await env.worker.hasSnapshot(name))) return;
    env.signal.throwIfAborted();
    await env.worker.unpackLayer({
      name,
      ...(below === undefined ? {} : { below }),
      blob: () => {
        env.progress.status(id, `extract-${layer.digest}`, `extracting ${short(layer.digest)}`);
        return env.store.readStream(layer.digest);
      },
      accept: async (applied) => {
        if (applied.diffId !== diffId) {
          throw new UserError(
            `${ref}: layer ${layer.digest} unpacks to ${applied.diffId}, but the image config says ${diffId}`,
            { hint: "the image is corrupt or was tampered with" },
          );
        }
        // Written before the snapshot is adopted: whoever finds it finds these too.
        if (applied.lowerLinks.length > 0) await writeSidecar(env, "lower-links", name, applied.lowerLinks);
        const paths = applied.lowerPaths;
        if (paths.created.length > 0 || paths.missing.length > 0)
          await writeSidecar(env, "lower-paths", name, paths);
        env.progress.status(id, `extract-${layer.digest}`, `extracting ${short(layer.digest)}`, {
          done: true,
        });
      },
    });
  } finally {
    await lock.release();
  }
}
