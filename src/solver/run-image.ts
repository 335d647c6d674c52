/**
 * An image source: its layers pulled into the content store (verified) and each unpacked once into a
 * layer directory named by its diff_id, which every build and platform using that layer then shares.
 * Unpacking writes overlay whiteouts, so the directories stack as overlay lowerdirs.
 */
import { UserError } from "../errors/user-error.ts";
import type { ImageSource } from "../graph/types.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { type Digest, digestHex } from "../oci/digest.ts";
import { applyLayer } from "../worker/layer/apply-layer.ts";
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
  const names = await Promise.all(
    image.manifest.layers.map((layer, i) => unpacked(env, id, layer, diffIds[i]!, source.ref)),
  );
  return names;
}

async function unpacked(
  env: RunEnv,
  id: string,
  layer: Descriptor,
  diffId: Digest,
  ref: string,
): Promise<string> {
  const name = `diff-${digestHex(diffId)}`;
  let p = env.unpacks.get(name);
  if (!p) {
    p = unpack(env, id, layer, diffId, name, ref);
    env.unpacks.set(name, p);
    p.catch(() => env.unpacks.delete(name));
  }
  await p;
  return name;
}

async function unpack(
  env: RunEnv,
  id: string,
  layer: Descriptor,
  diffId: Digest,
  name: string,
  ref: string,
): Promise<void> {
  if (await env.ws.exists(name)) return;
  const lock = await acquireForStep(env, name, id, `layer ${short(layer.digest)} of ${ref}`);
  try {
    if (lock.waited && (await env.ws.exists(name))) return;
    env.signal.throwIfAborted();
    await env.ws.fillNewDir("unpack", name, async (root) => {
      env.progress.status(id, `extract-${layer.digest}`, `extracting ${short(layer.digest)}`);
      const applied = await applyLayer(await env.store.readStream(layer.digest), {
        root,
        whiteouts: "overlay",
      });
      if (applied.diffId !== diffId) {
        throw new UserError(
          `${ref}: layer ${layer.digest} unpacks to ${applied.diffId}, but the image config says ${diffId}`,
          { hint: "the image is corrupt or was tampered with" },
        );
      }
      env.progress.status(id, `extract-${layer.digest}`, `extracting ${short(layer.digest)}`, { done: true });
    });
  } finally {
    await lock.release();
  }
}
