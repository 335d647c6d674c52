/**
 * type=image / type=registry / -t … --push. With push, each name gets the root pushed (blobs, then the
 * platform manifests, then the root under the tag: pushImage keeps that order, so a tag never points at
 * something incomplete). The image is also kept in polyarch's image store under each name (src/images/), which
 * is what `type=image` without push gives the user: `polyarch images`, `FROM NAME`, `polyarch run`.
 */
import type { ContentStore } from "../../content/index.ts";
import { storeImage, storeReferrers } from "../../images/image-store.ts";
import { pushImage } from "../../registry/push.ts";
import { formatReference, type ImageReference, parseReference } from "../../registry/reference.ts";
import { pushReferrer } from "../../registry/referrers.ts";
import { RegistryClients } from "../../registry/registry-clients.ts";
import type { Assembly } from "../assemble.ts";
import type { ImageOutput } from "../output-spec.ts";

export interface ImageOutputContext {
  store: ContentStore;
  registry?: RegistryClients;
  progress: (name: string) => (detail?: string) => void;
}

export interface ImageOutputResult {
  type: "image";
  names: string[];
  pushed: string[];
  stored: string[];
  note?: string;
}

export async function exportImage(
  output: ImageOutput,
  assembly: Assembly,
  ctx: ImageOutputContext,
): Promise<ImageOutputResult> {
  const root = assembly.root;
  const refs = output.image.names.map(parseReference);
  const names = refs.map(formatReference);
  if (output.image.nameCanonical) {
    for (const ref of refs) names.push(`${ref.registry}/${ref.repository}@${root.digest}`);
  }
  if (refs.length === 0 && output.danglingPrefix) names.push(`${output.danglingPrefix}@${root.digest}`);

  const result: ImageOutputResult = { type: "image", names, pushed: [], stored: [] };
  if (output.store) {
    // Referrers are not in the index: they are kept beside the name, for a later push or save.
    const referrers = assembly.attestations.filter((a) => a.style === "referrers").map((a) => a.manifest);
    // Named by tag in the image store (`polyarch images`); a digest-only name has nothing to keep it by.
    for (const name of names.filter((n) => !n.includes("@"))) {
      const done = ctx.progress(`naming to ${name}`);
      await storeImage(ctx.store, name, root);
      await storeReferrers(ctx.store, name, referrers);
      result.stored.push(name);
      done();
    }
  }
  if (output.push) {
    result.pushed = await push(output, assembly, refs, ctx);
  } else if (result.stored.length > 0) {
    result.note =
      "kept in polyarch's image store: see polyarch images; polyarch push, save or run it, or use it in FROM";
  } else {
    result.note =
      "the image is only in polyarch's content store, unnamed; add -t NAME to keep it under a name";
  }
  return result;
}

async function push(
  output: ImageOutput,
  assembly: Assembly,
  refs: ImageReference[],
  ctx: ImageOutputContext,
): Promise<string[]> {
  const root = assembly.root;
  const owned = !ctx.registry || output.insecure;
  const insecureHosts = output.insecure ? refs.map((r) => r.registry) : [];
  const base = ctx.registry?.options ?? {};
  const clients = owned
    ? new RegistryClients({
        ...base,
        insecureRegistries: [...(base.insecureRegistries ?? []), ...insecureHosts],
      })
    : ctx.registry!;
  const pushed: string[] = [];
  try {
    for (const ref of refs) {
      const target: ImageReference = output.pushByDigest
        ? { registry: ref.registry, repository: ref.repository, digest: root.digest }
        : { ...ref, digest: undefined };
      if (target.digest === undefined) delete target.digest;
      const shown = formatReference(target);
      const done = ctx.progress(`pushing ${shown}`);
      await pushImage(clients, ctx.store, root, target);
      // Referrers after their subjects: the registry (or the referrers tag) then lists them complete.
      for (const att of assembly.attestations.filter((a) => a.style === "referrers")) {
        await pushReferrer(
          clients,
          ctx.store,
          att.manifest,
          [att.config, ...att.layers],
          att.subject.digest,
          target,
        );
      }
      done();
      pushed.push(shown);
    }
  } finally {
    if (owned) await clients.close();
  }
  return pushed;
}
